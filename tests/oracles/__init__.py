"""Reference implementations, transcribed for the tests (each file names its upstream)."""
