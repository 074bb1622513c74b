"""Faces: detectors (MTCNN, dlib HOG and CNN), landmarks, quality, the 128-d encoder."""
