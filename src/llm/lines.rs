//! Bounded line framing for streamed response bodies (Ollama's NDJSON and server-sent events).
//!
//! A body arrives in HTTP chunks that split lines, and even single UTF-8 characters, anywhere. The
//! [`LineStream`] buffers bytes until a whole line is there, decodes it as UTF-8 only then, refuses
//! any line longer than its bound, and gives up when no line arrives within the idle timeout.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};
use tokio_util::io::StreamReader;

use super::ModelError;

/// A stream of body bytes, as the HTTP client yields them.
pub(crate) type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// Why the next line could not be read.
#[derive(Debug)]
pub(crate) enum LineError {
    /// A line grew past the bound before its newline came.
    TooLong(usize),
    /// No complete line arrived within the idle timeout.
    Idle(Duration),
    /// The first line did not arrive within the first-byte timeout.
    NoFirst(Duration),
    /// A line is not valid UTF-8.
    NotUtf8,
    /// The connection failed while the body was streaming.
    Broken(String),
}

impl From<LineError> for ModelError {
    fn from(error: LineError) -> Self {
        match error {
            LineError::TooLong(max) => Self::Decode(format!(
                "a line of the reply was longer than {max} bytes; the rest was not read"
            )),
            LineError::Idle(idle) => Self::Timeout(idle),
            LineError::NoFirst(limit) => Self::NoFirstOutput(limit),
            LineError::NotUtf8 => Self::Decode("a line of the reply is not UTF-8".to_owned()),
            LineError::Broken(reason) => {
                Self::Decode(format!("the reply stream broke off: {reason}"))
            }
        }
    }
}

/// Reads a streamed body line by line, each line bounded in size and in waiting time.
pub(crate) struct LineStream {
    frames: FramedRead<StreamReader<ByteStream, Bytes>, LinesCodec>,
    max_line: usize,
    idle: Duration,
    /// Until a first non-empty line has come: when it must have come, and the limit to report.
    first: Option<(tokio::time::Instant, Duration)>,
}

impl std::fmt::Debug for LineStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineStream")
            .field("max_line", &self.max_line)
            .field("idle", &self.idle)
            .finish_non_exhaustive()
    }
}

impl LineStream {
    /// Frames `body` into lines of at most `max_line` bytes, waiting at most `idle` for each.
    pub(crate) fn new(body: ByteStream, max_line: usize, idle: Duration) -> Self {
        Self {
            frames: FramedRead::new(
                StreamReader::new(body),
                LinesCodec::new_with_max_length(max_line),
            ),
            max_line,
            idle,
            first: None,
        }
    }

    /// Requires the first non-empty line by `deadline` instead of within the idle timeout,
    /// reporting `limit` when it does not come.
    pub(crate) fn first_line_by(mut self, deadline: tokio::time::Instant, limit: Duration) -> Self {
        self.first = Some((deadline, limit));
        self
    }

    /// Frames a `reqwest` response body.
    pub(crate) fn from_response(
        response: reqwest::Response,
        max_line: usize,
        idle: Duration,
    ) -> Self {
        let body = response
            .bytes_stream()
            .map(|chunk| chunk.map_err(io::Error::other));
        Self::new(body.boxed(), max_line, idle)
    }

    /// The next line without its `\n` (or `\r\n`), or `None` at the end of the body.
    ///
    /// # Errors
    /// See [`LineError`]; after an error the stream should be dropped.
    pub(crate) async fn next_line(&mut self) -> Result<Option<String>, LineError> {
        let (deadline, timed_out) = match self.first {
            Some((deadline, limit)) => (deadline, LineError::NoFirst(limit)),
            None => (
                tokio::time::Instant::now() + self.idle,
                LineError::Idle(self.idle),
            ),
        };
        match tokio::time::timeout_at(deadline, self.frames.next()).await {
            Err(_) => Err(timed_out),
            Ok(None) => Ok(None),
            Ok(Some(Ok(line))) => {
                if !line.trim().is_empty() {
                    self.first = None;
                }
                Ok(Some(line))
            }
            Ok(Some(Err(LinesCodecError::MaxLineLengthExceeded))) => {
                Err(LineError::TooLong(self.max_line))
            }
            Ok(Some(Err(LinesCodecError::Io(e)))) if e.kind() == io::ErrorKind::InvalidData => {
                Err(LineError::NotUtf8)
            }
            Ok(Some(Err(LinesCodecError::Io(e)))) => Err(LineError::Broken(innermost(&e))),
        }
    }
}

/// The innermost cause of an error chain, which names what really happened
/// (`connection reset by peer`) without the outer layers' URLs.
pub(crate) fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(pieces: Vec<Vec<u8>>) -> LineStream {
        let body = futures::stream::iter(pieces.into_iter().map(|p| Ok(Bytes::from(p))));
        LineStream::new(body.boxed(), 64, Duration::from_secs(5))
    }

    async fn collect(mut lines: LineStream) -> Result<Vec<String>, LineError> {
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().await? {
            out.push(line);
        }
        Ok(out)
    }

    /// Every way of cutting the body into three HTTP chunks, including cuts inside multi-byte
    /// characters and around `\r\n`, yields the same lines.
    #[tokio::test]
    async fn every_split_yields_the_same_lines() {
        let text = "{\"a\":\"café\"}\r\n{\"b\":\"日本語 🎉\"}\nlast without newline";
        let bytes = text.as_bytes();
        let expected = vec![
            "{\"a\":\"café\"}".to_owned(),
            "{\"b\":\"日本語 🎉\"}".to_owned(),
            "last without newline".to_owned(),
        ];
        for first in 0..=bytes.len() {
            for second in first..=bytes.len() {
                let pieces = vec![
                    bytes[..first].to_vec(),
                    bytes[first..second].to_vec(),
                    bytes[second..].to_vec(),
                ];
                let lines = collect(stream_of(pieces))
                    .await
                    .map_err(|e| format!("{e:?}"));
                assert_eq!(lines, Ok(expected.clone()), "split at {first} and {second}");
            }
        }
    }

    /// One byte per chunk is the worst case for framing and still decodes.
    #[tokio::test]
    async fn one_byte_chunks() {
        let text = "ünï\ncödé\n";
        let pieces = text.bytes().map(|b| vec![b]).collect();
        let lines = collect(stream_of(pieces))
            .await
            .map_err(|e| format!("{e:?}"));
        assert_eq!(lines, Ok(vec!["ünï".to_owned(), "cödé".to_owned()]));
    }

    /// A line past the bound is an error, whether or not its newline ever comes.
    #[tokio::test]
    async fn long_line_is_refused() {
        let long = vec![b'x'; 65];
        let mut lines = stream_of(vec![b"ok\n".to_vec(), long, b"\n".to_vec()]);
        assert_eq!(
            lines.next_line().await.ok().flatten().as_deref(),
            Some("ok")
        );
        assert!(matches!(
            lines.next_line().await,
            Err(LineError::TooLong(64))
        ));

        let exact = stream_of(vec![vec![b'y'; 64], b"\n".to_vec()]);
        let got = collect(exact).await.map_err(|e| format!("{e:?}"));
        assert_eq!(got, Ok(vec!["y".repeat(64)]));
    }

    /// Bytes that are not UTF-8 are reported as such.
    #[tokio::test]
    async fn invalid_utf8_is_reported() {
        let mut lines = stream_of(vec![vec![0xff, 0xfe, b'\n']]);
        assert!(matches!(lines.next_line().await, Err(LineError::NotUtf8)));
    }

    /// The first line may take until its deadline; later ones only the idle timeout.
    #[tokio::test(start_paused = true)]
    async fn first_line_has_its_own_deadline() {
        let body = futures::stream::once(async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok(Bytes::from_static(b"first\n"))
        })
        .chain(futures::stream::pending());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        let mut lines = LineStream::new(body.boxed(), 64, Duration::from_millis(50))
            .first_line_by(deadline, Duration::from_secs(1));
        assert_eq!(
            lines.next_line().await.ok().flatten().as_deref(),
            Some("first")
        );
        assert!(matches!(lines.next_line().await, Err(LineError::Idle(_))));

        let silent = LineStream::new(
            futures::stream::pending().boxed(),
            64,
            Duration::from_secs(9),
        )
        .first_line_by(
            tokio::time::Instant::now() + Duration::from_secs(1),
            Duration::from_secs(1),
        );
        let mut silent = silent;
        assert!(matches!(
            silent.next_line().await,
            Err(LineError::NoFirst(limit)) if limit == Duration::from_secs(1)
        ));
    }

    /// A body that stops sending is cut off after the idle timeout.
    #[tokio::test(start_paused = true)]
    async fn idle_body_times_out() {
        let body = futures::stream::iter(vec![Ok(Bytes::from_static(b"first\n"))])
            .chain(futures::stream::pending());
        let mut lines = LineStream::new(body.boxed(), 64, Duration::from_millis(50));
        assert_eq!(
            lines.next_line().await.ok().flatten().as_deref(),
            Some("first")
        );
        assert!(matches!(lines.next_line().await, Err(LineError::Idle(_))));
    }

    /// A transport failure mid-body names its cause.
    #[tokio::test]
    async fn broken_body_is_reported() {
        let body = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"partial")),
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset",
            )),
        ]);
        let mut lines = LineStream::new(body.boxed(), 64, Duration::from_secs(1));
        match lines.next_line().await {
            Err(LineError::Broken(reason)) => assert!(reason.contains("reset"), "{reason}"),
            other => panic!("expected a broken stream, got {other:?}"),
        }
    }
}
