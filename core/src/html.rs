//! HTML bodies: images referenced by `src=`/`background=` embedded as inline parts (`data:`
//! URIs always, relative paths under a base directory), and the blocks a text version drops.

use crate::message::{guess_content_type, parse_data_uri};

/// An image found in the HTML, to attach inline under `cid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedImage {
    pub cid: String,
    pub name: String,
    pub content_type: String,
    pub source: ImageSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// Decoded from a `data:` URI.
    Bytes(Vec<u8>),
    /// A file under the base directory (the caller checks it can be read).
    Path(String),
}

/// `src="…"` / `background="…"` attribute values (not `data-src=`): (start of the attribute,
/// end of its closing quote, attribute name, value).
fn image_refs(html: &str) -> Vec<(usize, usize, String, String)> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lower.len() {
        let Some(found) = ["src=", "background="]
            .iter()
            .filter_map(|a| lower[i..].find(a).map(|p| (i + p, *a)))
            .min_by_key(|(p, _)| *p)
        else {
            break;
        };
        let (start, attr) = found;
        let after = start + attr.len();
        i = after;
        if start > 0 && lower.as_bytes()[start - 1] == b'-' {
            continue;
        }
        let Some(&q) = lower.as_bytes().get(after).filter(|q| **q == b'"' || **q == b'\'') else {
            continue;
        };
        let _ = q;
        // Shortest value up to the next quote of either kind.
        let Some(len) = html[after + 1..].find(['"', '\'']) else {
            break;
        };
        let value = html[after + 1..after + 1 + len].to_string();
        let end = after + 1 + len + 1;
        out.push((start, end, html[start..after - 1].to_string(), value));
        i = end;
    }
    out
}

fn sha256_hex32(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    digest.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Rewrites image references to `cid:` URLs and returns the images to attach: `data:image/…`
/// URIs (base64 or percent-encoded; one part per distinct image), and — only with a
/// `basedir` — relative paths without `..` (absolute URLs and `cid:` left alone). The
/// `exists` callback decides whether a path can be attached; references to others stay.
pub fn embed_images(html: &str, basedir: &str, exists: impl Fn(&str) -> bool) -> (String, Vec<EmbeddedImage>) {
    let mut images: Vec<EmbeddedImage> = Vec::new();
    let mut out = String::with_capacity(html.len());
    let mut last = 0;
    let mut base = basedir.to_string();
    if base.len() > 1 && !base.ends_with('/') {
        base.push('/');
    }
    for (index, (start, end, attr, url)) in image_refs(html).into_iter().enumerate() {
        let lower = url.to_ascii_lowercase();
        let replacement = if lower.starts_with("data:image/") {
            let kind = lower[5..].split([';', ',']).next().unwrap_or("");
            if !matches!(kind, "image/jpeg" | "image/jpg" | "image/gif" | "image/png") {
                continue;
            }
            let Ok((data, _)) = parse_data_uri(&url) else { continue };
            let cid = format!("{}@phpmailer.0", sha256_hex32(&data));
            if !images.iter().any(|i| i.cid == cid) {
                images.push(EmbeddedImage {
                    cid: cid.clone(),
                    name: format!("embed{index}"),
                    content_type: kind.to_string(),
                    source: ImageSource::Bytes(data),
                });
            }
            cid
        } else {
            let absolute = lower.find("//").is_some_and(|p| {
                let scheme = lower[..p].trim_end_matches(':');
                scheme.is_empty()
                    || scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
            });
            if basedir.is_empty() || url.contains("..") || lower.starts_with("cid:") || absolute {
                continue;
            }
            let [dir, file, ext, _] = crate::text::path_info(&url);
            let mut dir = if dir == "." { String::new() } else { dir };
            if dir.len() > 1 && !dir.ends_with('/') {
                dir.push('/');
            }
            let path = format!("{base}{dir}{file}");
            if !exists(&path) {
                continue;
            }
            let cid = format!("{}@phpmailer.0", sha256_hex32(url.as_bytes()));
            if !images.iter().any(|i| i.cid == cid) {
                images.push(EmbeddedImage {
                    cid: cid.clone(),
                    name: file.clone(),
                    content_type: guess_content_type(&format!("x.{ext}")).to_string(),
                    source: ImageSource::Path(path),
                });
            }
            cid
        };
        out.push_str(&html[last..start]);
        out.push_str(&format!("{attr}=\"cid:{replacement}\""));
        last = end;
    }
    out.push_str(&html[last..]);
    (out, images)
}

/// The HTML without its `<head>`, `<title>`, `<style>` and `<script>` blocks (what a text
/// version leaves out before tags are stripped).
pub fn strip_invisible_blocks(html: &str) -> String {
    let mut s = html.to_string();
    for tag in ["head", "title", "style", "script"] {
        let open = format!("<{tag}");
        let close = format!("</{tag}>");
        let mut from = 0;
        loop {
            let lower = s.to_ascii_lowercase();
            let Some(start) = lower[from..].find(&open).map(|p| from + p) else {
                break;
            };
            // `<header>` is not `<head>`.
            let next = lower.as_bytes().get(start + open.len()).copied();
            if !matches!(next, Some(b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/')) {
                from = start + open.len();
                continue;
            }
            let Some(end) = lower[start..].find(&close) else { break };
            s.replace_range(start..start + end + close.len(), "");
            from = start;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_data_uris_once_and_relative_paths_under_basedir() {
        let png = "data:image/png;base64,iVBORw0KGgo=";
        let html = format!(
            r#"<img src="{png}"><img data-src="x.png"><p background='{png}'><img src="images/a.png"><img src="https://x/y.png"><img src="../etc/passwd">"#
        );
        let (out, images) = embed_images(&html, "/base", |p| p == "/base/images/a.png");
        assert_eq!(images.len(), 2);
        let ImageSource::Path(p) = &images[1].source else {
            panic!()
        };
        assert_eq!(
            (p.as_str(), images[1].content_type.as_str()),
            ("/base/images/a.png", "image/png")
        );
        assert_eq!(out.matches("cid:").count(), 3);
        assert!(
            out.contains(r#"data-src="x.png""#) && out.contains("https://x/y.png") && out.contains("../etc/passwd")
        );
        let (same, none) = embed_images(r#"<img src="images/a.png">"#, "", |_| true);
        assert!(none.is_empty() && same.contains("images/a.png"));
    }

    #[test]
    fn checks_msg_ids() {
        use crate::message::is_msg_id;
        for ok in ["<a1@example.com>", "<a.b@[1.2.3.4]>", "<\"x y\"@h>"] {
            assert!(is_msg_id(ok), "{ok}");
        }
        for bad in [
            "a@b", "<ab>", "<a@b>\n", "<@b>", "<a@>", "<@>", "<a@b@c>", "<a<@>b>", "<<a@b>c>",
        ] {
            assert!(!is_msg_id(bad), "{bad}");
        }
    }

    #[test]
    fn strips_invisible_blocks() {
        let html =
            "<html><head><title>T</title></head><body><header>H</header><STYLE>x</STYLE>B<script a=1>s</script></body>";
        assert_eq!(strip_invisible_blocks(html), "<html><body><header>H</header>B</body>");
    }
}
