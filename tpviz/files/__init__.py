"""Files a user names: :mod:`.read` checks a file before anything opens it, :mod:`.write` writes an output file
atomically. Each failure is one error naming the file and the fix. Imports neither torch, numpy nor matplotlib:
grading uses both modules."""
