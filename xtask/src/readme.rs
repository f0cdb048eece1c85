//! The repository README's examples, compiled as this library's doc tests (they are not
//! run: they need a broker). The README sits outside every published package, so its
//! examples are checked here, in a crate that is never published.

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
