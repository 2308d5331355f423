//! The store data mirror: catalog, inventory, locations and loyalty members kept on the lane
//! so that it can look items up, validate SKUs and identify members while the link is down.
//!
//! ```text
//! mod.rs      Mirror handle, errors, mirror_path      db.rs       file, schema, worker thread
//! source.rs   CatalogSource / SalesSource traits      pos.rs      adapters for PosClient
//! sync.rs     one sync pass (since/until + replace)   schedule.rs jittered loop, paused offline
//! lookup.rs   item/product views, online-or-mirror    members.rs  member cache
//! validate.rs SKU checks for a sale                    history.rs  POS sales, daily journal report
//! giftcard.rs manager-only physical code replacement
//! fake.rs     in-memory source with Since & Until, hooks and faults (tests, benchmark)
//! ```
//!
//! # Why a file of its own
//!
//! The mirror lives in its own SQLite file next to the journal ([`mirror_path`]), with its own
//! connection (and lock). A first load writes 100,000 items; in the journal's file that
//! would hold the single writer (and its WAL) while a sale waits to commit, so a bulk sync could
//! delay the durable commit that a shown approval depends on. Catalog rows are re-fetchable
//! copies, not records: losing the last commits in a power cut only means fetching them again
//! (the persisted `until` is lost with them, so nothing is skipped). The mirror therefore runs
//! `journal_mode=WAL` with `synchronous=NORMAL`, which is crash-safe for the process and cheaper
//! per commit, while the journal keeps `FULL`.
//!
//! # Sync contract
//!
//! * `item`, `itemWarehouse`, `itemSerialLot` and `product` are walked with Since & Until
//!   (`pos-api.md` §4): the first walk starts at `since: ""`, later walks at the stored `until`.
//!   Each page's rows **and** its `until` are written in one transaction, so a crash between
//!   pages resumes exactly after the last applied page: nothing skipped, nothing applied twice.
//! * Banners, groups, notices, sections, sort options and locations have no `since`; they are
//!   read completely with skip/first and replace their table in one transaction.
//! * An entity is `complete` once its first full load finished; SKU validation is strict only
//!   when the item mirror is complete.
//! * Since & Until reports changes, not deletions: a row deleted at the POS stays in the mirror
//!   until the mirror file is rebuilt ([`Mirror::reset`]).

mod db;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
pub mod giftcard;
pub mod history;
pub mod lookup;
pub mod members;
pub mod pos;
pub mod schedule;
pub mod source;
pub mod sync;
pub mod validate;

use std::path::{Path, PathBuf};

pub use db::{Mirror, MirrorOptions, PragmaReport};
pub use giftcard::{GiftcardEditor, GiftcardMaintenanceError, replace_physical_code};
pub use history::{
    JournalDay, JournalReader, ReconciliationReport, SalesHistory, TenderTotal, journal_day_on,
    sales_history,
};
pub use lookup::{
    Answer, AnswerSource, ItemView, NoticeView, OnlineOutcome, ProductGroupView, ProductView,
    online_or_mirror,
};
pub use members::{MemberView, mask_name};
pub use schedule::{SyncSchedule, SyncStatus, run_schedule};
pub use source::{CatalogSource, SaleFilter, SalesSource, SincePage, SkipPage, SourceError};
pub use sync::{Entity, EntityState, SyncOutcome, SyncReport, sync_once};
pub use validate::{SkuWarning, UnknownSku};

/// The mirror file for a journal file: `<journal>.mirror.db` in the same directory.
pub fn mirror_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".mirror.db");
    PathBuf::from(name)
}

/// Everything the mirror can fail with.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// SQLite failed (I/O, full disk, corruption).
    #[error("mirror database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A pragma did not read back as required.
    #[error("mirror pragma {name} is {actual}, expected {expected}")]
    PragmaMismatch {
        /// Pragma name.
        name: &'static str,
        /// What was required.
        expected: String,
        /// What SQLite reported.
        actual: String,
    },
    /// The file was written by a newer version of the agent.
    #[error("mirror schema version {found} is newer than this build ({supported})")]
    TooNew {
        /// Version in the file.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// Stored data could not be decoded.
    #[error("bad mirror data: {0}")]
    Data(String),
    /// The stored `until` moved under this walk (two syncs on one mirror); the page was not
    /// applied.
    #[error("another sync moved the {0} cursor; page not applied")]
    SyncConflict(&'static str),
    /// The source failed; the mirror keeps what it had.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Opening the mirror was cut short (its task stopped).
    #[error("mirror is closed")]
    Closed,
    /// File-system error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_file_sits_next_to_the_journal() {
        assert_eq!(
            mirror_path(Path::new("/var/lib/lane-agent/agent.db")),
            PathBuf::from("/var/lib/lane-agent/agent.db.mirror.db")
        );
    }
}
