//! The instructor's room (`xtask/room`) in headless Chromium:
//!
//! - `harness room-test`: starts the room on a free loopback port with a
//!   fresh database, opens its page, has simulated students report through
//!   the real `room send` (one with `<b>markup</b>` in their name, two
//!   machines with the same name, one with only `doctor`'s lines, one
//!   older client without a machine id) and two bad reports be refused (a
//!   wrong code, an unknown checkpoint), and watches the page's table
//!   follow without a reload: each row's failure, checkpoint, time and
//!   checks there, hints at their level; the columns' counts; sorting; the
//!   stuck threshold from the lesson plan, and changed on the page.
//! - `harness room-screenshot` (and `screenshots`): the book's picture of
//!   a room with a few students.
//!
//! The room is driven only from the outside, as an instructor and students
//! use it: its binary, its page, its `/api/table`. `instance.rs` starts the
//! room, `students.rs` has the simulated students report to it, `page.rs`
//! reads its page; `test.rs` and `screenshot.rs` are made of them.

mod instance;
mod page;
mod screenshot;
mod students;
mod test;

pub use instance::{Room, room_bin};
pub use screenshot::screenshot;
pub use test::test;
