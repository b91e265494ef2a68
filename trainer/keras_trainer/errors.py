"""The one error type, mirroring trainer/errors.ts: a contract code, a message naming the problem, the field."""

from __future__ import annotations

ERROR_CODES = frozenset(
    {
        "bad_definition",
        "bad_params",
        "missing_input",
        "bad_model",
        "unsupported_layer",
        "shape_mismatch",
        "missing_column",
        "non_numeric",
        "empty_dataset",
        "corrupt_archive",
        "unsafe_archive",
        "out_of_memory",
        "internal",
    }
)


class TrainerError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @property
    def exit_code(self) -> int:
        """1: bad input; 2: internal / out of memory (as the TF.js trainer)."""
        return 2 if self.code in ("internal", "out_of_memory") else 1

    def record(self) -> dict:
        rec = {"type": "error", "code": self.code, "message": self.message}
        if self.field is not None:
            rec["field"] = self.field
        return rec


def to_trainer_error(err: BaseException) -> TrainerError:
    if isinstance(err, TrainerError):
        return err
    msg = str(err) or type(err).__name__
    if isinstance(err, MemoryError) or "RESOURCE_EXHAUSTED" in msg or "out of memory" in msg.lower():
        return TrainerError("out_of_memory", f"out of memory: {msg}")
    return TrainerError("internal", f"{type(err).__name__}: {msg}")
