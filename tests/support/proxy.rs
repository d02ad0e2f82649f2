//! A forward proxy for tests (written below).
