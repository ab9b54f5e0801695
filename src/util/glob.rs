//! Redis glob matching (stringmatchlen).
