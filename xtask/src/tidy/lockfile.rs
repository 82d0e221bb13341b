//! The versions `Cargo.lock` holds back so that a fresh clone's first `cargo
//! xtask serve` compiles less (issue 26). Nothing in a `Cargo.toml` keeps them:
//! a plain `cargo update` would bring each crate below back, so this test
//! says so when it happens.

use std::collections::BTreeSet;

use super::read;

/// Crates that only newer releases of our dependencies pull in, none of them
/// used on the way to `serve`, each with the command that holds it back.
///
/// - `ml-dsa` (a post-quantum signature, with `hybrid-array`, `keccak`, the
///   RustCrypto 0.11 digests and der 0.8): `superboring` builds it from
///   0.1.9 on, and `jwt-simple` from 0.12.16 on requires such a release, for
///   the one ES256 signature web-push makes. 0.12.15 is the newest without
///   it that still takes the `rand` 0.8 fixed for RUSTSEC-2026-0097 (0.12.12
///   to 0.12.14 pin the affected 0.8.5); it accepts superboring 0.1.8.
/// - `icu_normalizer` and `icu_properties` (ICU4X, some twenty crates and
///   five proc macros): `url`'s `idna` reaches Unicode through `idna_adapter`,
///   whose 1.1 release, as its documentation offers, uses the smaller
///   unicode-rs crates instead, with the same results.
const HELD_BACK: [(&str, &str); 3] = [
    (
        "ml-dsa",
        "cargo update -p jwt-simple --precise 0.12.15 && cargo update -p superboring --precise 0.1.8",
    ),
    (
        "icu_normalizer",
        "cargo update -p idna_adapter --precise 1.1.0",
    ),
    (
        "icu_properties",
        "cargo update -p idna_adapter --precise 1.1.0",
    ),
];

/// The names of every package `Cargo.lock` holds.
fn locked_packages() -> BTreeSet<String> {
    let lock: toml::Table = toml::from_str(&read("Cargo.lock"))
        .unwrap_or_else(|e| panic!("Cargo.lock is not TOML: {e}"));
    let packages = lock
        .get("package")
        .and_then(toml::Value::as_array)
        .expect("Cargo.lock has no [[package]] entries");
    packages
        .iter()
        .map(|package| {
            package
                .get("name")
                .and_then(toml::Value::as_str)
                .expect("a [[package]] in Cargo.lock without a name")
                .to_owned()
        })
        .collect()
}

#[test]
fn the_lock_keeps_the_first_build_lean() {
    let locked = locked_packages();
    // A lock this test cannot read would pass it for nothing.
    assert!(
        locked.contains("web-push") && locked.contains("idna_adapter"),
        "Cargo.lock should hold web-push and idna_adapter: {locked:?}"
    );
    let back: Vec<String> = HELD_BACK
        .iter()
        .filter(|(name, _)| locked.contains(*name))
        .map(|(name, fix)| format!("{name} (fix: `{fix}`)"))
        .collect();
    assert!(
        back.is_empty(),
        "Cargo.lock brings back crates that only slow the first `cargo xtask serve` \
         (see xtask/src/tidy/lockfile.rs): {}",
        back.join(", ")
    );
}
