//! Response bodies that fault rules stream instead of holding in memory:
//! huge filler (`oversize_bytes`) and a body that pauses half-way
//! (`stall_body_ms`). The exact length is known up front, so the client gets
//! a Content-Length with the headers and then waits for the bytes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use hyper::body::{Frame, SizeHint};
use tokio::time::Sleep;

/// Filler is sent in chunks of this size.
const CHUNK: usize = 64 * 1024;
static FILLER: [u8; CHUNK] = [b'x'; CHUNK];

#[derive(Debug)]
enum Piece {
    Data(Bytes),
    /// This many `x` bytes, generated as they are sent.
    Filler(u64),
    Pause(Duration),
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Data(b) => b.len() as u64,
            Piece::Filler(n) => *n,
            Piece::Pause(_) => 0,
        }
    }
}

#[derive(Default)]
pub struct FaultBody {
    pieces: VecDeque<Piece>,
    sleep: Option<Pin<Box<Sleep>>>,
    remaining: u64,
}

impl FaultBody {
    pub fn bytes(b: Bytes) -> Self {
        let mut body = Self::default();
        body.push(Piece::Data(b));
        body
    }

    /// `{"ret":"xxx…"}`: valid JSON of exactly `n` bytes (10 at the least).
    pub fn oversize_json(n: u64) -> Self {
        const HEAD: &[u8] = br#"{"ret":""#;
        const TAIL: &[u8] = br#""}"#;
        let fill = n.saturating_sub((HEAD.len() + TAIL.len()) as u64);
        let mut body = Self::default();
        body.push(Piece::Data(Bytes::from_static(HEAD)));
        body.push(Piece::Filler(fill));
        body.push(Piece::Data(Bytes::from_static(TAIL)));
        body
    }

    fn push(&mut self, piece: Piece) {
        self.remaining += piece.len();
        self.pieces.push_back(piece);
    }

    /// Sends the first half (at least one byte) at once, then waits `pause`
    /// before the rest.
    pub fn stall_half_way(mut self, pause: Duration) -> Self {
        let mut left = (self.remaining / 2).max(1);
        let mut out = VecDeque::with_capacity(self.pieces.len() + 2);
        while let Some(piece) = self.pieces.pop_front() {
            let len = piece.len();
            if left == 0 || len < left {
                left -= len.min(left);
                out.push_back(piece);
                continue;
            }
            // This piece holds the cut (`0 < left <= len`).
            let (first, rest) = match piece {
                Piece::Data(b) => {
                    let at = left as usize;
                    (Piece::Data(b.slice(..at)), Piece::Data(b.slice(at..)))
                }
                Piece::Filler(n) => (Piece::Filler(left), Piece::Filler(n - left)),
                Piece::Pause(_) => unreachable!("a pause has no length"),
            };
            out.push_back(first);
            out.push_back(Piece::Pause(pause));
            out.push_back(rest);
            left = 0;
        }
        self.pieces = out;
        self
    }
}

impl From<FaultBody> for Body {
    fn from(b: FaultBody) -> Body {
        Body::new(b)
    }
}

impl hyper::body::Body for FaultBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        loop {
            let Some(front) = this.pieces.front_mut() else {
                return Poll::Ready(None);
            };
            match front {
                Piece::Data(b) => {
                    let b = std::mem::take(b);
                    this.pieces.pop_front();
                    if b.is_empty() {
                        continue;
                    }
                    this.remaining -= b.len() as u64;
                    return Poll::Ready(Some(Ok(Frame::data(b))));
                }
                Piece::Filler(n) => {
                    if *n == 0 {
                        this.pieces.pop_front();
                        continue;
                    }
                    let take = (*n).min(CHUNK as u64);
                    *n -= take;
                    this.remaining -= take;
                    let chunk = Bytes::from_static(&FILLER[..take as usize]);
                    return Poll::Ready(Some(Ok(Frame::data(chunk))));
                }
                Piece::Pause(d) => {
                    let d = *d;
                    let sleep = this
                        .sleep
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(d)));
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.sleep = None;
                    this.pieces.pop_front();
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pieces
            .iter()
            .all(|p| p.len() == 0 && !matches!(p, Piece::Pause(_)))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
