// This module holds data, not code: the x509-limbo suite that the root
// package's TestLimboConformance runs (limbo/README.md). A folder with its
// own go.mod is left out of the parent module's zip, so importers of
// github.com/httptrust/httptrust never download these 8 MB; the test runs
// from a clone of the repository.
module github.com/httptrust/httptrust/conformance

go 1.26.0
