//! The HMAC fallback signature of webhooks (`WEBHOOK_HMAC_SECRET`), made so a captured delivery
//! cannot be replayed later or to another route.
//!
//! The `Clockify-Signature` header is `t=<unix seconds>,v1=<hex>` where the hex is HMAC-SHA256
//! under the shared secret of `<t>.<EVENT_TYPE>.<raw body>` (in the spirit of Standard Webhooks
//! and Stripe). Several `v1=` entries may be given (a sender rotating its secret); one must match.
//! A timestamp more than [`TOLERANCE_SECS`] away from now is refused before the body is read.

/// How far the signed timestamp may be from the receiver's clock, either way.
pub const TOLERANCE_SECS: i64 = 300;

/// Why an HMAC signature was refused; `reason()` is the metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HmacError {
    #[error("signature header is not t=<unix>,v1=<hex>")]
    Malformed,
    #[error("signature timestamp is outside the tolerance")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

impl HmacError {
    pub fn reason(self) -> &'static str {
        match self {
            HmacError::Malformed => "hmac_malformed",
            HmacError::Stale => "hmac_stale",
            HmacError::Mismatch => "hmac",
        }
    }
}

/// A parsed signature header whose timestamp is fresh; the body is checked with [`verify`].
///
/// [`verify`]: HmacSignature::verify
#[derive(Debug, Clone)]
pub struct HmacSignature {
    timestamp: i64,
    tags: Vec<Vec<u8>>,
}

impl HmacSignature {
    /// Parses `header` and checks its timestamp against `now` (unix seconds).
    pub fn parse_fresh(header: &str, now: i64) -> Result<Self, HmacError> {
        let mut timestamp = None;
        let mut tags = Vec::new();
        for part in header.split(',') {
            let (key, value) = part.trim().split_once('=').ok_or(HmacError::Malformed)?;
            match key {
                "t" => {
                    let t: i64 = value.parse().map_err(|_| HmacError::Malformed)?;
                    if timestamp.replace(t).is_some() {
                        return Err(HmacError::Malformed);
                    }
                }
                "v1" => tags.push(hex::decode(value).map_err(|_| HmacError::Malformed)?),
                // Other schemes may follow in later versions; they are not ours to judge.
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(HmacError::Malformed)?;
        if tags.is_empty() {
            return Err(HmacError::Malformed);
        }
        if (now - timestamp).abs() > TOLERANCE_SECS {
            return Err(HmacError::Stale);
        }
        Ok(Self { timestamp, tags })
    }

    /// Whether one of the tags is the HMAC of this event type and body, in constant time.
    pub fn verify(&self, secret: &[u8], event_type: &str, body: &[u8]) -> Result<(), HmacError> {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
        let message = signed_message(self.timestamp, event_type, body);
        let matched = self.tags.iter().fold(false, |found, tag| {
            found | aws_lc_rs::hmac::verify(&key, &message, tag).is_ok()
        });
        if matched {
            Ok(())
        } else {
            Err(HmacError::Mismatch)
        }
    }
}

/// The header value a sender puts in `Clockify-Signature`.
pub fn sign(secret: &[u8], timestamp: i64, event_type: &str, body: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, &signed_message(timestamp, event_type, body));
    format!("t={timestamp},v1={}", hex::encode(tag))
}

fn signed_message(timestamp: i64, event_type: &str, body: &[u8]) -> Vec<u8> {
    let mut message = format!("{timestamp}.{event_type}.").into_bytes();
    message.extend_from_slice(body);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_signature_verifies_only_for_its_event_body_and_time() {
        let header = sign(SECRET, 1_000, "NEW_TAG", b"{}");
        let signature = HmacSignature::parse_fresh(&header, 1_010).expect("fresh");
        assert_eq!(signature.verify(SECRET, "NEW_TAG", b"{}"), Ok(()));
        assert_eq!(
            signature.verify(SECRET, "PROJECT_DELETED", b"{}"),
            Err(HmacError::Mismatch)
        );
        assert_eq!(
            signature.verify(SECRET, "NEW_TAG", b"{ }"),
            Err(HmacError::Mismatch)
        );
        assert_eq!(
            HmacSignature::parse_fresh(&header, 1_000 + 3_600).map(|_| ()),
            Err(HmacError::Stale)
        );
        assert_eq!(
            HmacSignature::parse_fresh(&header, 1_000 - 301).map(|_| ()),
            Err(HmacError::Stale)
        );
    }

    #[test]
    fn malformed_headers_and_bare_body_hmacs_are_refused() {
        for header in [
            "",
            "abcdef",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            "t=1,v1=zz",
            "t=1,t=1,v1=00",
        ] {
            assert_eq!(
                HmacSignature::parse_fresh(header, 1).map(|_| ()),
                Err(HmacError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn any_of_several_tags_may_match() {
        let good = sign(SECRET, 5, "NEW_TAG", b"{}");
        let header = format!("t=5,v1={},{}", "00".repeat(32), &good[4..]);
        let signature = HmacSignature::parse_fresh(&header, 5).expect("fresh");
        assert_eq!(signature.verify(SECRET, "NEW_TAG", b"{}"), Ok(()));
    }
}
