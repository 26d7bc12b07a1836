//! Content digests (`sha256:<hex>`) and the streaming verifier that checks a blob against its
//! digest while it passes from source to destination. This module never buffers a whole blob:
//! it hashes chunks as they flow and fails the stream before the last byte is forwarded when the
//! content does not match, so a corrupt blob can never complete an upload.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use sha2::{Digest as _, Sha256};

use super::error::RegistryError;

/// A validated `sha256:<64 lowercase hex>` content digest.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Parses and validates a digest string. Only sha256 is accepted: it is what every
    /// registry in scope produces, and it is the only algorithm this client can verify.
    pub fn parse(input: &str) -> Result<Digest, RegistryError> {
        let invalid =
            |reason: &str| RegistryError::InvalidDigest { input: input.to_string(), reason: reason.to_string() };
        let hex = input.strip_prefix("sha256:").ok_or_else(|| invalid("only sha256 digests are supported"))?;
        if hex.len() != 64 {
            return Err(invalid("expected 64 hex digits after `sha256:`"));
        }
        if !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(invalid("expected lowercase hex digits"));
        }
        Ok(Digest(input.to_string()))
    }

    /// The digest of a byte slice held in memory (manifests, never layers).
    pub fn of(bytes: &[u8]) -> Digest {
        Digest::from_hasher(Sha256::new_with_prefix(bytes))
    }

    fn from_hasher(hasher: Sha256) -> Digest {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let sum = hasher.finalize();
        let mut s = String::with_capacity(71);
        s.push_str("sha256:");
        for b in sum {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        Digest(s)
    }

    /// The full `sha256:<hex>` form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex part, as used in registry storage paths.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.0)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a verified stream stopped; read by the uploader after the request fails so it can tell
/// corruption (final) from a dropped connection (retry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VerifyFailure {
    Digest {
        actual: Digest,
    },
    Size {
        actual: u64,
    },
    /// The source's body broke off (connection closed or reset) after `received` bytes.
    Source {
        received: u64,
        reason: String,
    },
}

/// Shared slot the verifying stream writes its verdict into.
pub(crate) type VerifyVerdict = Arc<Mutex<Option<VerifyFailure>>>;

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Hashes every chunk of a source blob and forwards the chunks past `skip` bytes (the part the
/// destination already has when resuming). The chunk that completes the blob is only forwarded
/// once the digest matches; on a mismatch the stream yields an error instead, which aborts the
/// HTTP request carrying it.
pub(crate) struct VerifyingStream {
    inner: ByteStream,
    hasher: Option<Sha256>,
    seen: u64,
    skip: u64,
    expected_size: u64,
    expected: Digest,
    verdict: VerifyVerdict,
    /// Set once the stream has ended or failed; later polls return `None`.
    finished: bool,
    /// Bytes seen so far, for the stall watchdog.
    progress: Arc<AtomicU64>,
}

impl VerifyingStream {
    pub(crate) fn new(
        inner: ByteStream,
        expected: Digest,
        expected_size: u64,
        skip: u64,
    ) -> (VerifyingStream, VerifyVerdict) {
        let verdict = VerifyVerdict::default();
        let stream = VerifyingStream {
            inner,
            hasher: Some(Sha256::new()),
            seen: 0,
            skip,
            expected_size,
            expected,
            verdict: verdict.clone(),
            finished: false,
            progress: Arc::default(),
        };
        (stream, verdict)
    }

    /// A counter of bytes read from the source, shared with whoever watches for stalls.
    pub(crate) fn progress(&self) -> Arc<AtomicU64> {
        self.progress.clone()
    }

    fn fail(&mut self, failure: VerifyFailure) -> std::io::Error {
        let msg = match &failure {
            VerifyFailure::Digest { actual } => {
                format!("blob {} hashes to {actual}", self.expected)
            }
            VerifyFailure::Size { actual } => {
                format!("blob {} should be {} bytes, source sent {actual}", self.expected, self.expected_size)
            }
            VerifyFailure::Source { received, reason } => {
                format!("the source's body of blob {} broke after {received} bytes: {reason}", self.expected)
            }
        };
        if let Ok(mut slot) = self.verdict.lock() {
            *slot = Some(failure);
        }
        self.hasher = None;
        self.finished = true;
        std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
    }

    /// Hashes one chunk; returns the part to forward, or the integrity error.
    fn absorb(&mut self, chunk: Bytes) -> Result<Bytes, std::io::Error> {
        let start = self.seen;
        self.seen += chunk.len() as u64;
        self.progress.store(self.seen, Ordering::Relaxed);
        if self.seen > self.expected_size {
            let actual = self.seen;
            return Err(self.fail(VerifyFailure::Size { actual }));
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(&chunk);
        }
        if self.seen == self.expected_size {
            if let Some(h) = self.hasher.take() {
                let actual = Digest::from_hasher(h);
                if actual != self.expected {
                    return Err(self.fail(VerifyFailure::Digest { actual }));
                }
            }
        }
        if start >= self.skip {
            Ok(chunk)
        } else if self.seen > self.skip {
            Ok(chunk.slice((self.skip - start) as usize..))
        } else {
            Ok(Bytes::new())
        }
    }
}

impl Stream for VerifyingStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        loop {
            match self.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => {
                    // Recorded, so the failure of the upload it aborts is put on the source.
                    let received = self.seen;
                    let reason = crate::causes::with_causes(&e);
                    return Poll::Ready(Some(Err(self.fail(VerifyFailure::Source { received, reason }))));
                }
                Poll::Ready(Some(Ok(chunk))) => match self.absorb(chunk) {
                    Err(e) => return Poll::Ready(Some(Err(e))),
                    Ok(out) if out.is_empty() => continue,
                    Ok(out) => return Poll::Ready(Some(Ok(out))),
                },
                Poll::Ready(None) => {
                    if self.seen < self.expected_size {
                        let actual = self.seen;
                        return Poll::Ready(Some(Err(self.fail(VerifyFailure::Size { actual }))));
                    }
                    self.finished = true;
                    return Poll::Ready(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn stream_of(chunks: Vec<&'static [u8]>) -> ByteStream {
        Box::pin(futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c)))))
    }

    #[test]
    fn parses_and_rejects_digests() {
        let d = Digest::of(b"hello");
        assert_eq!(d.as_str(), "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(Digest::parse(d.as_str()).unwrap(), d);
        assert!(Digest::parse("sha512:abcd").is_err());
        assert!(Digest::parse("sha256:ABCD").is_err());
        assert!(Digest::parse(&d.as_str().to_uppercase()).is_err());
    }

    #[tokio::test]
    async fn forwards_matching_content_and_skips_prefix() {
        let d = Digest::of(b"hello world");
        let (s, verdict) = VerifyingStream::new(stream_of(vec![b"hello", b" world"]), d, 11, 3);
        let out: Vec<_> = s.map(|r| r.unwrap()).collect().await;
        assert_eq!(out.concat(), b"lo world");
        assert_eq!(*verdict.lock().unwrap(), None);
    }

    #[tokio::test]
    async fn withholds_last_chunk_on_mismatch() {
        let d = Digest::of(b"hello world");
        let (mut s, verdict) = VerifyingStream::new(stream_of(vec![b"hello", b" worle"]), d, 11, 0);
        assert_eq!(s.next().await.unwrap().unwrap(), Bytes::from_static(b"hello"));
        assert!(s.next().await.unwrap().is_err());
        let expected = VerifyFailure::Digest { actual: Digest::of(b"hello worle") };
        assert_eq!(*verdict.lock().unwrap(), Some(expected));
    }

    #[tokio::test]
    async fn short_source_is_a_size_failure() {
        let d = Digest::of(b"hello world");
        let (s, verdict) = VerifyingStream::new(stream_of(vec![b"hello"]), d, 11, 0);
        let out: Vec<_> = s.collect().await;
        assert_eq!(out.len(), 2);
        assert!(out[1].is_err());
        assert_eq!(*verdict.lock().unwrap(), Some(VerifyFailure::Size { actual: 5 }));
    }
}
