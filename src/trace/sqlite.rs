//! Streaming the rows of one SQLite query, in query order, with bounded
//! memory — for readers of traces published as SQLite files.
//!
//! A rusqlite row cursor borrows its statement, which borrows the
//! connection, so one struct cannot hold them and hand out rows one at a
//! time. Instead a thread owns the connection, runs the query and sends its
//! rows in batches through a bounded channel: memory stays bounded (a few
//! batches in flight), and with one sender and one receiver rows arrive in
//! the query's order — the same on every run when the query orders them
//! totally. Dropping the [`Rows`] stops the thread at its next send.
//!
//! Values come as text ([`Texts`]) so that each reader parses them its own
//! way; a query that wants SQLite's own text of a REAL casts it
//! (`CAST(x AS TEXT)`).

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Rows per batch handed over by the reading thread, and batches in flight.
const BATCH: usize = 1024;
const IN_FLIGHT: usize = 4;

/// A row's values as text, as SQLite shows them; `None` for NULL.
pub(super) type Texts<const N: usize> = [Option<String>; N];

enum Msg<const N: usize> {
    Rows(Vec<Texts<N>>),
    Failed(String),
    End,
}

/// The rows of one query, each with its first `N` columns, streamed from a
/// thread that owns the connection.
pub(super) struct Rows<const N: usize> {
    /// `None` once the stream has ended or failed.
    rx: Option<Receiver<Msg<N>>>,
    batch: std::vec::IntoIter<Texts<N>>,
}

impl<const N: usize> Rows<N> {
    /// Starts a thread called `thread` that runs `sql` on `conn` and sends
    /// its rows. Errors only if the thread cannot be started; a query that
    /// fails is reported by [`Rows::next`].
    pub(super) fn spawn(conn: Connection, sql: &str, thread: &str) -> std::io::Result<Rows<N>> {
        let (tx, rx) = sync_channel(IN_FLIGHT);
        let sql = sql.to_string();
        std::thread::Builder::new()
            .name(thread.to_string())
            .spawn(move || stream(conn, &sql, tx))?;
        Ok(Rows {
            rx: Some(rx),
            batch: Vec::new().into_iter(),
        })
    }

    /// The next row, or `None` at the end. An error is SQLite's message if
    /// it failed midway; after it, the stream has ended.
    pub(super) fn next(&mut self) -> Result<Option<Texts<N>>, String> {
        loop {
            if let Some(t) = self.batch.next() {
                return Ok(Some(t));
            }
            let Some(rx) = &self.rx else {
                return Ok(None);
            };
            let message = match rx.recv() {
                Ok(Msg::Rows(rows)) => {
                    self.batch = rows.into_iter();
                    continue;
                }
                Ok(Msg::End) => {
                    self.rx = None;
                    return Ok(None);
                }
                Ok(Msg::Failed(m)) => m,
                Err(_) => "reading stopped before the end of the table".to_string(),
            };
            self.rx = None;
            return Err(message);
        }
    }
}

/// The first `N` values of `row` as text.
pub(super) fn texts<const N: usize>(row: &rusqlite::Row<'_>) -> rusqlite::Result<Texts<N>> {
    let mut out: Texts<N> = std::array::from_fn(|_| None);
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = match row.get_ref(i)? {
            ValueRef::Null => None,
            ValueRef::Text(b) | ValueRef::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
            ValueRef::Integer(v) => Some(v.to_string()),
            ValueRef::Real(v) => Some(v.to_string()),
        };
    }
    Ok(out)
}

/// The reading thread: runs the query and sends its rows in batches, then
/// `End`, or `Failed` if SQLite fails midway. Stops early, quietly, once
/// the receiver is dropped.
fn stream<const N: usize>(conn: Connection, sql: &str, tx: SyncSender<Msg<N>>) {
    let last = match send_rows(&conn, sql, &tx) {
        Ok(true) => Msg::End,
        Ok(false) => return,
        Err(e) => Msg::Failed(e.to_string()),
    };
    // An error here means the receiver is gone: nobody is left to tell.
    let _ = tx.send(last);
}

/// Sends every row; false if the receiver went away first.
fn send_rows<const N: usize>(
    conn: &Connection,
    sql: &str,
    tx: &SyncSender<Msg<N>>,
) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(row) = rows.next()? {
        batch.push(texts::<N>(row)?);
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.send(Msg::Rows(full)).is_err() {
                return Ok(false);
            }
        }
    }
    Ok(batch.is_empty() || tx.send(Msg::Rows(batch)).is_ok())
}
