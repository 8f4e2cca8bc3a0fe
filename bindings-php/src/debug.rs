//! `SMTPDebug` output: the engine's transcript printed the way PHPMailer's `edebug` prints it,
//! through `Debugoutput` (echo, html, error_log, a callable or a PSR-3 logger).

use std::time::{SystemTime, UNIX_EPOCH};

use ext_php_rs::types::{ZendCallable, Zval};
use polymailer::Direction;

use crate::value::Value;

/// `2024-01-31 12:00:00` in UTC, as PHPMailer's `gmdate('Y-m-d H:i:s')`.
fn gmdate() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Prints transcript lines the way PHPMailer's `edebug` does for each `SMTPDebug` level.
pub fn emit_debug(output: &Value, level: i64, lines: Vec<(Direction, String)>) {
    for (direction, line) in lines {
        let (min_level, text) = match direction {
            Direction::Client => (1, format!("CLIENT -> SERVER: {line}")),
            Direction::Server => (2, format!("SERVER -> CLIENT: {line}")),
            Direction::Data => (1, format!("CLIENT -> SERVER: <message of {} bytes>", line.len())),
            Direction::Info => (3, format!("Connection: {line}")),
        };
        if level < min_level {
            continue;
        }
        let mut lvl = Zval::new();
        lvl.set_long(min_level);
        let mut s = Zval::new();
        let _ = s.set_string(&text, false);
        let named = output.0.is_string() && matches!(output.string().as_str(), "echo" | "html" | "error_log");
        if output.0.is_callable() && !named {
            let _ = output.0.try_call(vec![&s, &lvl]);
            continue;
        }
        if output.0.is_object() {
            // A PSR-3 logger.
            let _ = output.0.try_call_method("debug", vec![&s]);
            continue;
        }
        match output.string().as_str() {
            "error_log" => {
                if let Ok(f) = ZendCallable::try_from_name("error_log") {
                    let _ = f.try_call(vec![&s]);
                }
            }
            "html" => {
                ext_php_rs::php_print!("{}<br>\n", crate::errors::html_escape(&text));
            }
            _ => {
                ext_php_rs::php_print!("{}\t{}\n", gmdate(), text);
            }
        }
    }
}
