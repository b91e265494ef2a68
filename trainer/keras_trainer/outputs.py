"""The output directory protocol of trainer/outputs/staging.ts: everything is written into a hidden staging dir
and moved into place only after training succeeded; on failure only `error.json` is left."""

from __future__ import annotations

import json
import os
import shutil


class OutputStaging:
    def __init__(self, output_dir: str) -> None:
        self.output_dir = output_dir
        self.dir = os.path.join(output_dir, f".staging-{os.getpid()}")

    def open(self) -> None:
        os.makedirs(self.dir, exist_ok=True)

    def commit(self) -> None:
        for name in os.listdir(self.dir):
            dest = os.path.join(self.output_dir, name)
            if os.path.isdir(dest):
                shutil.rmtree(dest)
            elif os.path.exists(dest):
                os.remove(dest)
            os.rename(os.path.join(self.dir, name), dest)
        shutil.rmtree(self.dir, ignore_errors=True)

    def fail(self, record: dict) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.output_dir, exist_ok=True)
        with open(os.path.join(self.output_dir, "error.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(record, indent=2) + "\n")
