//! A minimal DER reader: enough to read certificate names and validity (TLS trust) and public
//! keys (DKIM records), without a full ASN.1 stack.

/// One DER element.
#[derive(Clone, Copy)]
pub struct Element<'a> {
    pub tag: u8,
    /// Header and content (to compare whole names).
    pub whole: &'a [u8],
    pub content: &'a [u8],
}

/// The first element of `input`, and what follows it.
pub fn element(input: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        n if n < 0x80 => (n as usize, rest),
        n => {
            let count = (n & 0x7f) as usize;
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let len = rest[..count].iter().fold(0usize, |acc, &b| acc << 8 | b as usize);
            (len, &rest[count..])
        }
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    let whole = &input[..header + len];
    Some((
        Element {
            tag,
            whole,
            content: &rest[..len],
        },
        &rest[len..],
    ))
}

/// The TBSCertificate's fields after the optional version: serial, signature algorithm,
/// issuer, validity, subject.
fn tbs_fields(cert: &[u8]) -> Option<[Element<'_>; 5]> {
    tbs_prefix::<5>(cert)
}

/// The first `N` TBSCertificate fields after the optional version.
fn tbs_prefix<const N: usize>(cert: &[u8]) -> Option<[Element<'_>; N]> {
    let (certificate, _) = element(cert)?;
    let (tbs, _) = element(certificate.content)?;
    let mut rest = tbs.content;
    let mut out = Vec::with_capacity(N);
    while !rest.is_empty() && out.len() < N {
        let (e, next) = element(rest)?;
        if e.tag != 0xa0 {
            out.push(e);
        }
        rest = next;
    }
    out.try_into().ok()
}

/// The SubjectPublicKeyInfo (whole DER element), read from any X.509 version (v1 too).
pub fn spki(cert: &[u8]) -> Option<&[u8]> {
    Some(tbs_prefix::<6>(cert)?[5].whole)
}

pub fn self_issued(cert: &[u8]) -> bool {
    tbs_fields(cert).is_some_and(|f| f[2].whole == f[4].whole)
}

/// notBefore and notAfter, in seconds since the epoch.
pub fn validity(cert: &[u8]) -> Option<(u64, u64)> {
    let validity = tbs_fields(cert)?[3];
    let (before, rest) = element(validity.content)?;
    let (after, _) = element(rest)?;
    Some((time(before.tag, before.content)?, time(after.tag, after.content)?))
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn time(tag: u8, text: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let (year, rest) = match (tag, text.len()) {
        (0x17, 12) => {
            let yy: i64 = text[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
        }
        (0x18, 14) => (text[..4].parse().ok()?, &text[4..]),
        _ => return None,
    };
    let n = |i: usize| rest.get(i..i + 2)?.parse::<i64>().ok();
    let (month, day, hour, minute, second) = (n(0)?, n(2)?, n(4)?, n(6)?, n(8)?);
    // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    u64::try_from(days * 86400 + hour * 3600 + minute * 60 + second).ok()
}

/// The modulus (big-endian, leading zeros dropped) of an RSA public key given as `SubjectPublicKeyInfo` (what DKIM
/// records and `openssl pkey -pubout` hold) or as a bare PKCS#1 `RSAPublicKey`.
pub fn rsa_modulus(key: &[u8]) -> Option<&[u8]> {
    let (outer, _) = element(key)?;
    let (first, rest) = element(outer.content)?;
    let pkcs1 = if first.tag == 0x30 {
        // SubjectPublicKeyInfo: AlgorithmIdentifier, then a BIT STRING holding RSAPublicKey.
        let (bits, _) = element(rest)?;
        if bits.tag != 0x03 {
            return None;
        }
        let (rsa, _) = element(bits.content.get(1..)?)?;
        rsa
    } else {
        outer
    };
    let (modulus, _) = element(pkcs1.content)?;
    if modulus.tag != 0x02 {
        return None;
    }
    let m = modulus.content;
    Some(&m[m.iter().position(|&b| b != 0)?..])
}

#[cfg(test)]
mod tests {
    #[test]
    fn times() {
        assert_eq!(super::time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(super::time(0x17, b"000229120000Z"), Some(951825600));
        assert_eq!(super::time(0x18, b"20380119031408Z"), Some(2147483648));
        assert_eq!(super::time(0x17, b"7001010000Z"), None);
    }
}
