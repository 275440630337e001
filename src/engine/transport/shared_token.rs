//! The OAuth token shared by every instance through the store (`store.redis`): one token per
//! (base URL, client id), so N instances make one token request rather than N.
//!
//! Keys, under the store's prefix, with `h` = the first 16 hex digits of
//! sha256(`<base URL>|<client id>`):
//! - `token:{h}`: base64 of nonce ‖ AES-256-GCM(token), sealed with a key derived from the client
//!   secret (HKDF-SHA256, salt = the client id, info `pipedream-connect token v1`) and the key's
//!   name as associated data. A Redis reader without the secret cannot use it. PX = the time
//!   until the token should be refreshed (its life minus the refresh margin).
//! - `token:{h}:lock`: held (PX `LOCK_FOR`) by the one instance refreshing it.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};

use super::store::Store;
use crate::engine::hash::sha256_hex;
use crate::engine::secret::Secret;

/// How long a refresh lock holds: the others fetch on their own after it.
pub const LOCK_FOR: Duration = Duration::from_secs(5);
/// How often an instance waiting on another's refresh looks for the new token.
pub const POLL_EVERY: Duration = Duration::from_millis(50);

const INFO: &[&[u8]] = &[b"pipedream-connect token v1"];

struct KeyLen;

impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        AES_256_GCM.key_len()
    }
}

/// The sealed token as it is kept, and how long it has left.
pub struct Found {
    pub token: Secret,
    /// The stored text, to delete it only while it is this one.
    pub sealed: String,
    pub left: Duration,
}

pub struct SharedToken {
    store: Store,
    key: String,
    lock: String,
    aead: LessSafeKey,
    random: SystemRandom,
}

impl SharedToken {
    pub fn new(store: Store, base_url: &str, client_id: &str, client_secret: &Secret) -> Self {
        let slot = sha256_hex(format!("{base_url}|{client_id}").as_bytes());
        let key = store.key(&format!("token:{{{}}}", &slot[..16]));
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, client_id.as_bytes())
            .extract(client_secret.expose().as_bytes());
        let mut bytes = [0u8; 32];
        // 32 bytes is within HKDF-SHA256's output limit, so neither step can fail.
        prk.expand(INFO, KeyLen)
            .and_then(|okm| okm.fill(&mut bytes))
            .expect("HKDF-SHA256 yields 32 bytes");
        let aead = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &bytes).expect("an AES-256 key is 32 bytes"),
        );
        Self {
            lock: format!("{key}:lock"),
            key,
            store,
            aead,
            random: SystemRandom::new(),
        }
    }

    /// nonce ‖ ciphertext ‖ tag, in base64.
    pub fn seal(&self, token: &Secret) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).ok()?;
        let mut sealed = token.expose().as_bytes().to_vec();
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.key.as_bytes()),
                &mut sealed,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(STANDARD.encode(out))
    }

    /// The token in `text`, or `None` when it does not open with this secret (another secret,
    /// another key's value, or not ours at all).
    pub fn open(&self, text: &str) -> Option<Secret> {
        let bytes = STANDARD.decode(text).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut sealed = sealed.to_vec();
        let plain = self
            .aead
            .open_in_place(nonce, Aad::from(self.key.as_bytes()), &mut sealed)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok().map(Secret::new)
    }

    /// The shared token: `Some(None)` when there is none this secret opens, `None` when the
    /// store did not answer.
    pub async fn read(&self) -> Option<Option<Found>> {
        let (text, left): (Option<String>, i64) = self
            .store
            .call(|mut connection| async move {
                redis::pipe()
                    .get(&self.key)
                    .cmd("PTTL")
                    .arg(&self.key)
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        Some(text.and_then(|sealed| {
            let token = self.open(&sealed)?;
            let left = Duration::from_millis(u64::try_from(left).ok().filter(|&l| l > 0)?);
            Some(Found {
                token,
                sealed,
                left,
            })
        }))
    }

    /// Takes the refresh lock: `Some(Some(owner))` when this instance holds it now.
    pub async fn lock(&self) -> Option<Option<String>> {
        self.store.lock(&self.lock, LOCK_FOR).await
    }

    /// Shares a fresh token for `left`, and lets go of the lock; answers the stored text.
    pub async fn write(
        &self,
        token: &Secret,
        left: Duration,
        owner: Option<&str>,
    ) -> Option<String> {
        let sealed = self.seal(token)?;
        let _: () = self
            .store
            .call(|mut connection| {
                let sealed = &sealed;
                async move {
                    redis::cmd("SET")
                        .arg(&self.key)
                        .arg(sealed)
                        .arg("PX")
                        .arg(Store::px(left))
                        .query_async(&mut connection)
                        .await
                }
            })
            .await?;
        if let Some(owner) = owner {
            self.store.delete_if(&self.lock, owner).await;
        }
        Some(sealed)
    }

    /// Lets go of the lock without a token (the refresh failed): the others fetch at once.
    pub async fn unlock(&self, owner: &str) {
        self.store.delete_if(&self.lock, owner).await;
    }

    /// Deletes the shared token while it is still `sealed` (a 401 for it).
    pub async fn forget(&self, sealed: &str) {
        self.store.delete_if(&self.key, sealed).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::transport::store::tests::{TestRedis, config};

    fn shared(url: &str, secret: &str) -> SharedToken {
        SharedToken::new(
            Store::new(&config(url), None).unwrap(),
            "http://127.0.0.1:1/",
            "oa_client",
            &Secret::new(secret),
        )
    }

    #[test]
    fn sealed_tokens_open_only_with_their_secret() {
        let url = "redis://127.0.0.1:1";
        let (a, b) = (shared(url, "secret-1"), shared(url, "secret-1"));
        let token = Secret::new("pd_token_abc");
        let sealed = a.seal(&token).unwrap();
        assert!(!sealed.contains("pd_token_abc"));
        assert!(!String::from_utf8_lossy(&STANDARD.decode(&sealed).unwrap()).contains("pd_token"));
        assert_eq!(
            b.open(&sealed).map(|t| t.expose().to_owned()).as_deref(),
            Some("pd_token_abc")
        );
        // A fresh nonce each time.
        assert_ne!(a.seal(&token).unwrap(), sealed);
        // Another secret, a tampered value or text that is not ours: nothing.
        assert!(shared(url, "secret-2").open(&sealed).is_none());
        let mut bytes = STANDARD.decode(&sealed).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        assert!(a.open(&STANDARD.encode(bytes)).is_none());
        assert!(a.open("not base64!").is_none());
        assert!(a.open("").is_none());
        // Another client id or base URL is another key, and another key's value does not open.
        let other = SharedToken::new(
            Store::new(&config(url), None).unwrap(),
            "http://127.0.0.1:1/",
            "oa_other",
            &Secret::new("secret-1"),
        );
        assert_ne!(other.key, a.key);
        assert!(other.open(&sealed).is_none());
    }

    #[tokio::test]
    async fn one_lock_one_token_deleted_only_while_it_is_the_same() {
        let Some(redis) = TestRedis::start() else {
            return;
        };
        let (a, b) = (shared(&redis.url(), "s"), shared(&redis.url(), "s"));
        assert!(matches!(a.read().await, Some(None)));
        let owner = a.lock().await.unwrap().expect("first lock");
        assert_eq!(b.lock().await, Some(None));
        let first = a
            .write(&Secret::new("tok-1"), Duration::from_secs(60), Some(&owner))
            .await
            .unwrap();
        let found = b.read().await.unwrap().unwrap();
        assert_eq!(found.token.expose(), "tok-1");
        assert!(found.left > Duration::from_secs(58) && found.left <= Duration::from_secs(60));
        // The lock was let go.
        assert!(b.lock().await.unwrap().is_some());
        // A newer token replaced it: forgetting the old one leaves the new one.
        b.write(&Secret::new("tok-2"), Duration::from_secs(60), None)
            .await
            .unwrap();
        a.forget(&first).await;
        assert_eq!(a.read().await.unwrap().unwrap().token.expose(), "tok-2");
        let second = a.read().await.unwrap().unwrap().sealed;
        a.forget(&second).await;
        assert!(matches!(a.read().await, Some(None)));
        // Another secret reads nothing usable.
        b.write(&Secret::new("tok-3"), Duration::from_secs(60), None)
            .await
            .unwrap();
        assert!(matches!(
            shared(&redis.url(), "other").read().await,
            Some(None)
        ));
    }
}
