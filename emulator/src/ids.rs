//! Identifiers and secrets. Anything a client could use to authenticate comes
//! from the OS-seeded thread RNG so it cannot be guessed from `--seed`.

use rand::Rng;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub fn hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

pub fn alnum(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char)
        .collect()
}

/// `prefix` + random alphanumerics, e.g. `apn_Xy12…`, `dyp_…`.
pub fn prefixed(prefix: &str, len: usize) -> String {
    format!("{prefix}{}", alnum(len))
}
