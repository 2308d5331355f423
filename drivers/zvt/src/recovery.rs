//! Recovery of lost outcomes (being written; see issue 3 step 4).
