//! Headless output: JSON and text reports, file listings, the CI gate.
