//! Holds the trybuild suite (`compile_fail.rs`, `ui/`); no library code.
