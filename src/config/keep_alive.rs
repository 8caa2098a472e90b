//! `[model].keep_alive`, read the way Ollama reads it.
//!
//! Ollama takes `keep_alive` as a JSON number of seconds or as a string parsed by Go's
//! `time.ParseDuration` (`"30m"`, `"1h30m"`, `"-1s"`); anything else makes it refuse every chat
//! request with a 400. Go knows no unit longer than an hour, so `"1d"` is refused. The
//! configuration accepts a number (`-1`, `3600`), a string holding a number (sent as that number)
//! or a Go duration string, and rejects the rest at load time with Go's own message.

use std::time::Duration;

/// How long Ollama keeps the model loaded after a request, as it will be sent.
#[derive(Debug, Clone, PartialEq)]
pub enum KeepAlive {
    /// A number of seconds; a negative number keeps the model loaded for good.
    Seconds(f64),
    /// A Go duration string that Ollama accepts, as written.
    Duration(String),
}

impl KeepAlive {
    /// Reads a configured text: a number of seconds, or a Go duration string.
    ///
    /// # Errors
    /// The message Go's parser gives (`time: unknown unit "d" in duration "1d"`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        if let Ok(seconds) = trimmed.parse::<f64>() {
            return Self::seconds(seconds);
        }
        parse_go_duration(trimmed)?;
        Ok(Self::Duration(trimmed.to_owned()))
    }

    /// A number of seconds, which must be finite.
    ///
    /// # Errors
    /// For `NaN` and infinities, which JSON cannot carry.
    pub fn seconds(seconds: f64) -> Result<Self, String> {
        if seconds.is_finite() {
            Ok(Self::Seconds(seconds))
        } else {
            Err(format!("{seconds} is not a number of seconds"))
        }
    }
}

/// The span a Go duration string stands for, as `time.ParseDuration` computes it; `None` for a
/// negative one. Go's grammar: an optional sign, then one or more decimal numbers, each with an
/// optional fraction and a unit among `ns`, `us` (`µs`, `μs`), `ms`, `s`, `m`, `h`; `"0"` alone
/// needs no unit.
///
/// # Errors
/// Go's own messages: `time: invalid duration "x"`, `time: missing unit in duration "1"`,
/// `time: unknown unit "d" in duration "1d"`.
pub fn parse_go_duration(orig: &str) -> Result<Option<Duration>, String> {
    let invalid = || format!("time: invalid duration {}", quote(orig));
    let mut s = orig;
    let mut negative = false;
    if let Some(first) = s.chars().next()
        && (first == '-' || first == '+')
    {
        negative = first == '-';
        s = &s[1..];
    }
    if s == "0" {
        return Ok(Some(Duration::ZERO));
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let starts_right = s.starts_with(|c: char| c == '.' || c.is_ascii_digit());
        if !starts_right {
            return Err(invalid());
        }
        let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let whole = if digits == 0 {
            0
        } else {
            s[..digits].parse::<u64>().map_err(|_| invalid())?
        };
        if whole > 1 << 63 {
            return Err(invalid());
        }
        s = &s[digits..];
        let mut fraction: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut fraction_digits = 0;
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            let mut overflow = false;
            for c in s.chars().take_while(char::is_ascii_digit) {
                fraction_digits += 1;
                if overflow {
                    continue;
                }
                if fraction > (1 << 63) / 10 {
                    overflow = true;
                    continue;
                }
                fraction = fraction * 10 + u64::from(c as u8 - b'0');
                scale *= 10.0;
            }
            s = &s[fraction_digits..];
        }
        if digits == 0 && fraction_digits == 0 {
            return Err(invalid());
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", quote(orig)));
        }
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let nanos: u64 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(orig)
                ));
            }
        };
        if whole > (1 << 63) / nanos {
            return Err(invalid());
        }
        let mut value = whole * nanos;
        if fraction > 0 {
            // As Go does: the fraction in floating point, truncated.
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let part = (fraction as f64 * (nanos as f64 / scale)) as u64;
            value = value.saturating_add(part);
            if value > 1 << 63 {
                return Err(invalid());
            }
        }
        total = total.saturating_add(value);
        if total > 1 << 63 {
            return Err(invalid());
        }
    }
    if negative {
        return Ok(None);
    }
    if total > (1 << 63) - 1 {
        return Err(invalid());
    }
    Ok(Some(Duration::from_nanos(total)))
}

/// Go's `quote` in the time package: the text in double quotes, with `"` and `\` escaped.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Option<Duration> {
        parse_go_duration(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// What Go accepts, with the values it computes.
    #[test]
    fn go_durations() {
        assert_eq!(ok("0"), Some(Duration::ZERO));
        assert_eq!(ok("+0"), Some(Duration::ZERO));
        assert_eq!(ok("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(ok("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(ok("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(ok(".5s"), Some(Duration::from_millis(500)));
        assert_eq!(ok("5.s"), Some(Duration::from_secs(5)));
        assert_eq!(ok("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(ok("2us"), Some(Duration::from_micros(2)));
        assert_eq!(ok("2µs"), Some(Duration::from_micros(2)));
        assert_eq!(ok("2μs"), Some(Duration::from_micros(2)));
        assert_eq!(ok("7ns"), Some(Duration::from_nanos(7)));
        assert_eq!(ok("-1s"), None);
        assert_eq!(ok("-0"), Some(Duration::ZERO));
        assert_eq!(ok("2562047h"), Some(Duration::from_secs(2_562_047 * 3600)));
    }

    /// What Go refuses, with Go's messages.
    #[test]
    fn go_refusals() {
        let err = |text: &str| parse_go_duration(text).expect_err(text);
        assert_eq!(err("1d"), r#"time: unknown unit "d" in duration "1d""#);
        assert_eq!(err("2w"), r#"time: unknown unit "w" in duration "2w""#);
        assert_eq!(err("1 h"), r#"time: unknown unit " h" in duration "1 h""#);
        assert_eq!(err("10"), r#"time: missing unit in duration "10""#);
        assert_eq!(err("5."), r#"time: missing unit in duration "5.""#);
        assert_eq!(err(""), r#"time: invalid duration """#);
        assert_eq!(err("-"), r#"time: invalid duration "-""#);
        assert_eq!(err("h"), r#"time: invalid duration "h""#);
        assert_eq!(err(".s"), r#"time: invalid duration ".s""#);
        assert_eq!(err("3000000h"), r#"time: invalid duration "3000000h""#);
        assert_eq!(
            err("99999999999999999999s"),
            r#"time: invalid duration "99999999999999999999s""#
        );
    }

    /// Numbers stay numbers, durations stay as written, and the rest is refused.
    #[test]
    fn configured_values() {
        assert_eq!(KeepAlive::parse("-1"), Ok(KeepAlive::Seconds(-1.0)));
        assert_eq!(KeepAlive::parse(" 3600 "), Ok(KeepAlive::Seconds(3600.0)));
        assert_eq!(
            KeepAlive::parse("30m"),
            Ok(KeepAlive::Duration("30m".into()))
        );
        assert!(KeepAlive::parse("1d").is_err());
        assert!(KeepAlive::parse("NaN").is_err());
        assert!(KeepAlive::parse("forever").is_err());
        assert!(KeepAlive::seconds(f64::INFINITY).is_err());
    }
}
