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
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/cluster-video samples/demo.mp4 --overwrite

test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/run_bench.py --seeds 7,11,23 && $(PY) benchmarks/bench_cache.py && $(PY) benchmarks/bench_speed.py \
		&& $(PY) benchmarks/bench_tracks.py --append && $(PY) benchmarks/bench_clothing.py --append && $(PY) benchmarks/bench_faces.py --append \
		&& $(PY) benchmarks/bench_threshold.py --append \
		&& $(PY) benchmarks/bench_detectors.py --append --fit && $(PY) benchmarks/bench_detectors.py --pipeline --append \
		&& $(PY) benchmarks/real_faces.py recall --append && $(PY) benchmarks/real_faces.py clusters --append

clean-venv:
	rm -rf $(VENV)
