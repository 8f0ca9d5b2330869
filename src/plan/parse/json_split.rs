//! Reading one big JSON plan on several threads.
//!
//! A plan of tens of thousands of nodes is one JSON document, and a JSON document can only be read
//! from its start: whether a byte is inside a string, and how deep it is, depends on everything
//! before it. Plan nodes give a safe way in, though. In valid JSON the bytes `{ "Node Type":`
//! (any whitespace between) always open an object whose first key is `Node Type`: a `"` that
//! follows `{` or whitespace cannot be escaped, so if it closed a string, the `N` after it could
//! not follow. So the text is cut into chunks at such objects, and each chunk but the first is
//! read *speculatively* by a thread of its own: from its cut it reads whole node subtrees one
//! after another, climbing out of each `Plans` array it finishes, and records every subtree with
//! the bytes it spans (a `Forest`). The thread of the previous chunk reads as usual; when its
//! reader stands at the first byte of such a subtree and the visitor about to read it is a plan
//! node (`NodeSeed`), the prepared nodes are moved into its arena instead (renumbered, re-parented,
//! re-levelled) and the reader jumps to the subtree's end.
//!
//! Nothing is guessed: the prepared nodes are used only where the sequential reader would itself
//! have read a plan node from the same bytes with the same code (`NodeSeed` depends on nothing
//! but the bytes, its parent and its depth, which the splice sets). A cut that lands somewhere
//! odd costs time, never correctness: its subtrees are never offered, or offered and not claimed.
//! Where a speculative thread meets something it cannot read it stops; the sequential reader then
//! reads that part itself, and gives up on it as it would have anyway (the caller then asks
//! serde_json, for the error).
//!
//! The hand-over between the reader and `NodeSeed` goes through a thread-local (`HANDOFF`)
//! because serde passes only the visitor between them; the reader offers a subtree just before
//! it hands an object to a visitor, and withdraws the offer as soon as that visitor reads a key.

use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};

use serde::de::DeserializeSeed;

use super::json::NodeSeed;
use super::json_reader::Reader;
use crate::plan::model::Node;

/// Below this many bytes a chunk is not worth a thread: a thread costs tens of microseconds,
/// and the reader takes about a millisecond a megabyte.
const MIN_CHUNK_BYTES: usize = 4 << 20;

/// Most threads one document is read on.
const MAX_THREADS: usize = 8;

/// Read `text` as one JSON document through `seed`, on as many threads as the machine and the
/// document's size make worthwhile. `None` where the reader gives up (see `json_reader`).
pub(super) fn read_whole<'de, S: DeserializeSeed<'de>>(
    text: &'de str,
    seed: S,
) -> Option<S::Value> {
    let threads = crate::threads::available().min(text.len() / MIN_CHUNK_BYTES);
    read_at_cuts(text, seed, &cut_points(text, threads.min(MAX_THREADS)))
}

/// `read_whole` on at most `threads` threads whatever the size (the tests cut small plans), and
/// how many nodes the other threads read (so that the tests can tell the chunks were used).
pub(super) fn read_whole_counting<'de, S: DeserializeSeed<'de>>(
    text: &'de str,
    seed: S,
    threads: usize,
) -> (Option<S::Value>, usize) {
    read_at_cuts_counting(text, seed, &cut_points(text, threads.min(MAX_THREADS)))
}

/// `read_at_cuts`, and how many nodes were taken from the readers ahead.
pub(super) fn read_at_cuts_counting<'de, S: DeserializeSeed<'de>>(
    text: &'de str,
    seed: S,
    cuts: &[usize],
) -> (Option<S::Value>, usize) {
    CLAIMED_NODES.set(0);
    let value = read_at_cuts(text, seed, cuts);
    (value, CLAIMED_NODES.get())
}

/// Read `text` with a thread reading ahead from each of `cuts` (increasing byte offsets).
pub(super) fn read_at_cuts<'de, S: DeserializeSeed<'de>>(
    text: &'de str,
    seed: S,
    cuts: &[usize],
) -> Option<S::Value> {
    if cuts.is_empty() {
        return super::json_reader::read_whole(text, seed, ReadAhead::none());
    }
    // Set when the first reader gave up: the others stop at their next subtree.
    let abandoned = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // The reader of each chunk waits, at its end, for the forest of the chunk after it.
        let mut next: Option<(usize, Receiver<Forest>)> = None;
        for &cut in cuts.iter().rev() {
            let (sender, receiver) = channel();
            let ahead = ReadAhead::from(next.take());
            let abandoned = &abandoned;
            let spawned = std::thread::Builder::new().spawn_scoped(scope, move || {
                let _clear = ClearHandoff;
                // The receiver may be gone (the first reader gave up early): nothing to do then.
                let _ = sender.send(read_forest(text, cut, ahead, abandoned));
            });
            if spawned.is_err() {
                // The system could not start the thread: the first reader reads the text by
                // itself, and the readers ahead already started stop at their next subtree.
                abandoned.store(true, Ordering::Relaxed);
                break;
            }
            next = Some((cut, receiver));
        }
        let _clear = ClearHandoff;
        let value = super::json_reader::read_whole(text, seed, ReadAhead::from(next));
        if value.is_none() {
            abandoned.store(true, Ordering::Relaxed);
        }
        value
    })
}

/// Where chunks 2..=`chunks` start: the first node object at or after each cut, in increasing
/// order, none repeated. The cuts fall a little before even shares (`EARLIER`): the reader of
/// every chunk but the last also moves the nodes read after it into its arena (about a tenth of
/// the time it took to read them), so those chunks are made smaller.
pub(super) fn cut_points(text: &str, chunks: usize) -> Vec<usize> {
    const EARLIER: f64 = 0.92;
    let mut cuts: Vec<usize> = Vec::new();
    for i in 1..chunks {
        let share = (text.len() as f64 * i as f64 / chunks as f64 * EARLIER) as usize;
        let mut from = share.max(cuts.last().map_or(0, |&c| c + 1));
        while !text.is_char_boundary(from) {
            from += 1;
        }
        // `from` is past the last cut, so a cut found is a new one.
        match next_node_start(text, from) {
            Some(at) => cuts.push(at),
            None => break,
        }
    }
    cuts
}

/// The `{` of the first `{ "Node Type" :` at or after byte `from`.
fn next_node_start(text: &str, from: usize) -> Option<usize> {
    const KEY: &str = "\"Node Type\"";
    let bytes = text.as_bytes();
    let mut at = from;
    loop {
        let key = at + text.get(at..)?.find(KEY)?;
        at = key + KEY.len();
        let before = bytes[..key].iter().rposition(|b| !is_json_space(*b));
        let after = bytes[at..].iter().position(|b| !is_json_space(*b));
        if let (Some(open), Some(colon)) = (before, after) {
            if bytes[open] == b'{' && bytes[at + colon] == b':' && open >= from {
                return Some(open);
            }
        }
    }
}

fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

// ----------------------------------------------------------------------------------------------
// The speculative side

/// Node subtrees read ahead, in the order of the text.
pub(super) struct Forest {
    /// The subtrees' nodes in pre-order, numbered from 0 within the forest; each subtree's root
    /// has no parent and depth 0.
    nodes: Vec<Node>,
    trees: Vec<Tree>,
}

struct Tree {
    /// Bytes from the subtree's `{` to just after its `}`.
    bytes: Range<usize>,
    nodes: Range<usize>,
}

/// Read node subtrees from byte `start` on: each one, its following siblings, then (once their
/// `Plans` array and the rest of their parent's object are passed) the parent's following
/// siblings, and so on, until something else follows or something cannot be read.
fn read_forest(text: &str, start: usize, ahead: ReadAhead, abandoned: &AtomicBool) -> Forest {
    let mut reader = Reader::new(text, ahead);
    reader.pos = start;
    let mut nodes = Vec::new();
    let mut trees = Vec::new();
    'trees: loop {
        if abandoned.load(Ordering::Relaxed) {
            break;
        }
        let tree_start = reader.pos;
        let first = nodes.len();
        let seed = NodeSeed {
            arena: &mut nodes,
            parent: None,
            depth: 0,
        };
        if seed.deserialize(&mut reader).is_err() {
            nodes.truncate(first);
            break;
        }
        trees.push(Tree {
            bytes: tree_start..reader.pos,
            nodes: first..nodes.len(),
        });
        loop {
            match reader.peek_after_whitespace() {
                Some(b',') => {
                    reader.pos += 1;
                    if reader.peek_after_whitespace() == Some(b'{') {
                        continue 'trees;
                    }
                    break 'trees;
                }
                // The end of a `Plans` array: pass the rest of the parent's object.
                Some(b']') => {
                    reader.pos += 1;
                    if reader.skip_rest_of_object().is_err() {
                        break 'trees;
                    }
                }
                _ => break 'trees,
            }
        }
    }
    Forest { nodes, trees }
}

// ----------------------------------------------------------------------------------------------
// The reader's side

/// What a reader knows of the chunk after its own: where it starts and, once read, its forest.
pub(super) struct ReadAhead {
    /// The next byte offset at which a subtree may be offered (`usize::MAX`: none).
    pub(super) next_at: usize,
    pending: Option<Receiver<Forest>>,
    /// The byte spans of the forest's subtrees, once received.
    spans: Vec<Range<usize>>,
    /// The first span not yet offered or passed.
    next: usize,
}

impl ReadAhead {
    pub(super) fn none() -> ReadAhead {
        ReadAhead {
            next_at: usize::MAX,
            pending: None,
            spans: Vec::new(),
            next: 0,
        }
    }

    fn from(chunk: Option<(usize, Receiver<Forest>)>) -> ReadAhead {
        match chunk {
            Some((cut, receiver)) => ReadAhead {
                next_at: cut,
                pending: Some(receiver),
                ..ReadAhead::none()
            },
            None => ReadAhead::none(),
        }
    }

    /// The reader stands at `{` at byte `pos`, at or past `next_at`: offer the subtree that starts
    /// there, if there is one. Waits for the next chunk's forest the first time.
    pub(super) fn offer(&mut self, pos: usize) -> bool {
        if let Some(receiver) = self.pending.take() {
            if let Ok(forest) = receiver.recv() {
                self.spans = forest.trees.iter().map(|t| t.bytes.clone()).collect();
                let ranges = forest.trees.into_iter().map(|t| t.nodes).collect();
                HANDOFF.with_borrow_mut(|h| {
                    *h = Some(Handoff {
                        nodes: forest.nodes.into_iter(),
                        taken: 0,
                        ranges,
                        offered: None,
                        claimed: None,
                    })
                });
            }
        }
        while self.spans.get(self.next).is_some_and(|s| s.start < pos) {
            self.next += 1;
        }
        let offered = self.spans.get(self.next).is_some_and(|s| s.start == pos);
        if offered {
            let index = self.next;
            HANDOFF.with_borrow_mut(|h| {
                if let Some(h) = h {
                    h.offered = Some(index);
                }
            });
            self.next += 1;
        }
        self.next_at = self.spans.get(self.next).map_or(usize::MAX, |s| s.start);
        offered
    }

    /// After the visitor of an offered object returned: where the reader goes on if the visitor
    /// claimed the subtree (just after its `}`). Withdraws an offer left unclaimed.
    pub(super) fn settle(&mut self) -> Option<usize> {
        let claimed = HANDOFF.with_borrow_mut(|h| {
            let h = h.as_mut()?;
            h.offered = None;
            h.claimed.take()
        });
        claimed.map(|index| self.spans[index].end)
    }
}

/// The subtrees of a received forest, waiting to be claimed. Claims come in text order, so the
/// nodes are moved out of one iterator, dropping the subtrees passed over.
struct Handoff {
    nodes: std::vec::IntoIter<Node>,
    /// Nodes moved out of (or dropped from) `nodes` so far.
    taken: usize,
    ranges: Vec<Range<usize>>,
    offered: Option<usize>,
    claimed: Option<usize>,
}

thread_local! {
    static HANDOFF: RefCell<Option<Handoff>> = const { RefCell::new(None) };
    /// Nodes this thread took from a forest since `read_whole_counting` reset it.
    static CLAIMED_NODES: Cell<usize> = const { Cell::new(0) };
}

/// Drops this thread's forest when a read ends, however it ends.
struct ClearHandoff;

impl Drop for ClearHandoff {
    fn drop(&mut self) {
        HANDOFF.with_borrow_mut(|h| *h = None);
    }
}

/// The visitor of an offered object is about to read its first key: it is not a plan node.
pub(super) fn withdraw() {
    HANDOFF.with_borrow_mut(|h| {
        if let Some(h) = h {
            h.offered = None;
        }
    });
}

/// Called by `NodeSeed` first thing: if the object it is given was read ahead, move its nodes
/// into `arena` under `parent` at `depth`, and say so (the reader then skips the object).
pub(super) fn claim(arena: &mut Vec<Node>, parent: Option<usize>, depth: usize) -> bool {
    HANDOFF.with_borrow_mut(|h| {
        let Some(h) = h else { return false };
        let Some(index) = h.offered.take() else {
            return false;
        };
        let range = h.ranges[index].clone();
        if range.start > h.taken {
            h.nodes.nth(range.start - h.taken - 1);
        }
        let base = arena.len();
        let renumber = |id: usize| id - range.start + base;
        // `extend` over an iterator of known length writes each node in place, once.
        arena.extend(h.nodes.by_ref().take(range.len()).map(|mut node| {
            node.id = renumber(node.id);
            node.parent = match node.parent {
                Some(p) => Some(renumber(p)),
                None => parent,
            };
            node.depth += depth;
            for child in &mut node.children {
                *child = renumber(*child);
            }
            node
        }));
        h.taken = range.end;
        if let Some(p) = parent {
            arena[p].children.push(base);
        }
        h.claimed = Some(index);
        CLAIMED_NODES.set(CLAIMED_NODES.get() + range.len());
        true
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_only_at_node_objects() {
        let text = r#"[{"Plan": {"Node Type": "Append", "Filter": "{ \"Node Type\": 1 }",
            "Plans": [ {  "Node Type" : "Seq Scan"}, {"Node Type": "Seq Scan"} ]}}]"#;
        let cuts = cut_points(text, 4);
        assert!(!cuts.is_empty());
        for &c in &cuts {
            assert_eq!(&text[c..c + 1], "{", "cut at {c}");
            assert!(text[c + 1..].trim_start().starts_with("\"Node Type\""));
        }
        // The escaped key inside the filter string is never a cut.
        let escaped = text.find("{ \\\"Node Type").unwrap();
        assert!(!cuts.contains(&escaped));
        assert!(cuts.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn cuts_where_an_even_share_falls_inside_a_character() {
        let node = r#"{"Node Type": "Seq Scan", "Relation Name": "заказы"}"#;
        let text = format!("[{}]", vec![node; 64].join(","));
        for chunks in 2..=9 {
            assert_eq!(
                cut_points(&text, chunks).len(),
                chunks - 1,
                "{chunks} chunks"
            );
        }
    }

    #[test]
    fn no_cut_without_a_node_object() {
        assert!(cut_points(r#"{"a": "\"Node Type\": 1"}"#, 2).is_empty());
        assert!(cut_points("", 3).is_empty());
    }
}
