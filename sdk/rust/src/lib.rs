//! Safe Rust wrappers over ferry's C plugin ABI (`sdk/include/ferry/ferry.h`).
//!
//! A Rust connector is still one shared object that exports
//! `ferry_plugin_entry`, loaded by ferry like any C plugin. Implement
//! [`Source`] and export it with [`export_source!`]:
//!
//! ```ignore
//! struct Counter { next: i64 }
//! impl ferry_sdk::Source for Counter {
//!     fn open(ctx: &ferry_sdk::Context, cfg: &ferry_sdk::Config) -> Result<Self, ferry_sdk::Error> { ... }
//!     fn poll(&mut self, ctx: &ferry_sdk::Context, batch: &mut ferry_sdk::Batch) -> Result<(), ferry_sdk::Error> { ... }
//! }
//! ferry_sdk::export_source! {
//!     plugin: "counter", version: "0.1.0", connector: "counter-source", source: Counter,
//!     description: "Counts.",
//!     options: [ ferry_sdk::option!(string "topic", required, "Topic.") ],
//! }
//! ```
//!
//! Threads: as in ferry.h, the host calls open/poll/commit/close of one task
//! from that task's thread; a [`Source`] needs to be neither `Send` nor `Sync`.
//! A panic inside a callback is caught and fails the task with FERRY_FATAL.
//! Build as a `cdylib` (`crate-type = ["cdylib"]`).

pub mod ffi;

use std::ffi::{c_char, c_void, CStr, CString};
use std::mem::offset_of;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// What a callback returns instead of FERRY_OK. The message ends up in the
/// task's status and log (with the task's secrets scrubbed by the host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Transient: the host backs off and calls again (FERRY_RETRY).
    Retry(String),
    /// The task fails; it may be restarted (FERRY_ERROR).
    Error(String),
    /// The task fails for good (FERRY_FATAL).
    Fatal(String),
}

impl Error {
    fn status(&self) -> ffi::ferry_status_t {
        match self {
            Error::Retry(_) => ffi::FERRY_RETRY,
            Error::Error(_) => ffi::FERRY_ERROR,
            Error::Fatal(_) => ffi::FERRY_FATAL,
        }
    }
    fn message(&self) -> &str {
        match self {
            Error::Retry(m) | Error::Error(m) | Error::Fatal(m) => m,
        }
    }
}

/// Writes msg into the host's error buffer, cut to fit, always NUL-terminated.
fn set_error(err: *mut ffi::ferry_error_t, e: &Error) -> ffi::ferry_status_t {
    if !err.is_null() {
        let bytes = e.message().as_bytes();
        let n = bytes.len().min(ffi::FERRY_ERRMSG_SIZE - 1);
        // SAFETY: err is the host's caller-owned buffer of FERRY_ERRMSG_SIZE bytes.
        unsafe {
            let msg = &mut (*err).msg;
            for (dst, src) in msg.iter_mut().zip(&bytes[..n]) {
                *dst = *src as c_char;
            }
            msg[n] = 0;
        }
    }
    e.status()
}

/// Log levels of the host's `log`.
#[derive(Debug, Clone, Copy)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
}

/// The task and the host table: logging, offsets, should_stop. Valid from
/// open to close.
pub struct Context {
    host: *const ffi::ferry_host_t,
    task: *mut ffi::ferry_task_t,
}

impl Context {
    fn host(&self) -> &ffi::ferry_host_t {
        // SAFETY: the host table outlives every task.
        unsafe { &*self.host }
    }

    /// A log line, prefixed by the host with "[connector/task]".
    pub fn log(&self, level: Level, msg: &str) {
        let line = CString::new(msg.replace('\0', " ")).unwrap_or_default();
        if let Some(log) = self.host().log {
            // SAFETY: a "%s" format with one NUL-terminated string.
            unsafe { log(self.task, level as i32, c"%s".as_ptr(), line.as_ptr()) };
        }
    }

    /// 1 once the task has been asked to stop: blocking work should return.
    pub fn should_stop(&self) -> bool {
        // SAFETY: task is the host's, valid until close.
        self.host().should_stop.is_some_and(|f| unsafe { f(self.task) } != 0)
    }

    /// The last durable offset stored for `source_partition` (a JSON object), if any.
    pub fn offset_get(&self, source_partition: &str) -> Option<String> {
        let part = CString::new(source_partition).ok()?;
        let f = self.host().offset_get?;
        // SAFETY: the returned string is the host's, valid until close; copied at once.
        unsafe {
            let p = f(self.task, part.as_ptr());
            (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
        }
    }

    /// A top-level integer member of a JSON object, read by the host.
    pub fn json_get_int(&self, json: &str, field: &str) -> Option<i64> {
        let (j, f) = (CString::new(json).ok()?, CString::new(field).ok()?);
        let get = self.host().json_get_int?;
        let mut out = 0i64;
        // SAFETY: NUL-terminated inputs, out is a valid i64.
        (unsafe { get(j.as_ptr(), f.as_ptr(), &mut out) } == 0).then_some(out)
    }

    /// The connector's name (the key under `connectors:`) and the task's index.
    pub fn connector_name(&self) -> String {
        let f = match self.host().connector_name {
            Some(f) => f,
            None => return String::new(),
        };
        // SAFETY: the host's string, copied at once.
        unsafe {
            let p = f(self.task);
            if p.is_null() { String::new() } else { CStr::from_ptr(p).to_string_lossy().into_owned() }
        }
    }
}

/// The connector's validated config (defaults applied), read through the host.
pub struct Config {
    host: *const ffi::ferry_host_t,
    cfg: *const ffi::ferry_config_t,
}

impl Config {
    fn host(&self) -> &ffi::ferry_host_t {
        // SAFETY: the host table outlives every config.
        unsafe { &*self.host }
    }
    fn name(name: &str) -> CString {
        CString::new(name).unwrap_or_default()
    }
    /// A string (also enum and secret) option; None when unset without default.
    pub fn string(&self, name: &str) -> Option<String> {
        let f = self.host().cfg_string?;
        let n = Self::name(name);
        // SAFETY: the config's string lives as long as the config; copied at once.
        unsafe {
            let p = f(self.cfg, n.as_ptr());
            (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
        }
    }
    pub fn int(&self, name: &str) -> i64 {
        let n = Self::name(name);
        // SAFETY: plain getter on the host's config.
        self.host().cfg_int.map_or(0, |f| unsafe { f(self.cfg, n.as_ptr()) })
    }
    pub fn bool(&self, name: &str) -> bool {
        let n = Self::name(name);
        // SAFETY: plain getter on the host's config.
        self.host().cfg_bool.is_some_and(|f| unsafe { f(self.cfg, n.as_ptr()) } != 0)
    }
    pub fn duration_ms(&self, name: &str) -> i64 {
        let n = Self::name(name);
        // SAFETY: plain getter on the host's config.
        self.host().cfg_duration_ms.map_or(0, |f| unsafe { f(self.cfg, n.as_ptr()) })
    }
}

/// One record for [`Batch::add`]. The host copies every byte during `add`.
#[derive(Default)]
pub struct Record<'a> {
    /// None: the connector's default topic.
    pub topic: Option<&'a str>,
    pub key: Option<&'a [u8]>,
    /// None: a tombstone.
    pub value: Option<&'a [u8]>,
    /// JSON objects, e.g. `{"file":"a"}` and `{"position":42}`.
    pub source_partition: Option<&'a str>,
    pub source_offset: Option<&'a str>,
    /// FERRY_RECORD_* flags: what the key and value bytes are.
    pub flags: u32,
}

/// What [`Batch::add`] did with a record.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    Yes,
    /// The batch is full: return from poll, add the record next time.
    Full,
}

/// The batch a source fills inside poll (owned by the host).
pub struct Batch<'h> {
    host: &'h ffi::ferry_host_t,
    batch: *mut ffi::ferry_batch_t,
}

impl Batch<'_> {
    /// How many more records the host wants in this batch.
    pub fn room(&self) -> usize {
        // SAFETY: batch is the host's, valid during poll.
        self.host.batch_room.map_or(0, |f| unsafe { f(self.batch) })
    }

    /// Adds a record; Err when the host refused it (e.g. an offset that is
    /// not a JSON object): poll should return that error.
    pub fn add(&mut self, rec: &Record) -> Result<Added, Error> {
        let cs = |s: Option<&str>| s.map(|s| CString::new(s).map_err(|_| Error::Error(format!("NUL in {s:?}"))));
        let topic = cs(rec.topic).transpose()?;
        let part = cs(rec.source_partition).transpose()?;
        let off = cs(rec.source_offset).transpose()?;
        let span = |b: Option<&[u8]>| b.map_or((ptr::null(), 0), |b| (b.as_ptr() as *const c_void, b.len()));
        let (key, key_len) = span(rec.key);
        let (value, value_len) = span(rec.value);
        let raw = ffi::ferry_record_t {
            topic: topic.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            partition: -1,
            key,
            key_len,
            value,
            value_len,
            headers: ptr::null(),
            header_count: 0,
            timestamp_ms: 0,
            source_partition: part.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            source_offset: off.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            kafka_offset: 0,
            timestamp_type: 0,
            flags: rec.flags,
        };
        let sized = ffi::host_has(
            self.host,
            offset_of!(ffi::ferry_host_t, batch_add_sized),
            std::mem::size_of::<usize>(),
        );
        // SAFETY: raw and everything it points to live until the call returns; the host copies them.
        let st = unsafe {
            match (sized, self.host.batch_add_sized, self.host.batch_add) {
                (true, Some(f), _) => f(self.batch, &raw, std::mem::size_of::<ffi::ferry_record_t>()),
                (_, _, Some(f)) => f(self.batch, &raw),
                _ => ffi::FERRY_ERROR,
            }
        };
        match st {
            ffi::FERRY_OK => Ok(Added::Yes),
            ffi::FERRY_RETRY => Ok(Added::Full),
            _ => Err(Error::Error("the host refused the record (see the task's log)".into())),
        }
    }
}

/// One durable position handed to [`Source::commit`].
pub struct Offset<'a> {
    pub source_partition: &'a str,
    pub source_offset: &'a str,
}

/// A source connector. One value per task, created by `open` and dropped at
/// close.
pub trait Source: Sized {
    /// Create the task's state. On Err nothing is kept (the host never calls close).
    fn open(ctx: &Context, cfg: &Config) -> Result<Self, Error>;
    /// Add records with `batch.add`. Block at most ~100 ms when there is
    /// nothing to read (and return early once `ctx.should_stop()`).
    fn poll(&mut self, ctx: &Context, batch: &mut Batch) -> Result<(), Error>;
    /// These offsets are durable in the offset store (acknowledge upstream).
    fn commit(&mut self, _ctx: &Context, _offsets: &[Offset]) -> Result<(), Error> {
        Ok(())
    }
}

/// A task's state as the host sees it: the context and the connector's value.
pub struct Task<S> {
    ctx: Context,
    source: S,
}

fn guard<F: FnOnce() -> Result<(), Error>>(err: *mut ffi::ferry_error_t, f: F) -> ffi::ferry_status_t {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => ffi::FERRY_OK,
        Ok(Err(e)) => set_error(err, &e),
        Err(_) => set_error(err, &Error::Fatal("the connector panicked".into())),
    }
}

/// The C callbacks behind [`export_source!`]; not for direct use.
#[doc(hidden)]
pub mod glue {
    use super::*;

    /// # Safety
    /// Called by the host with the arguments ferry.h describes for open().
    pub unsafe extern "C" fn open<S: Source>(
        task: *mut ffi::ferry_task_t,
        host: *const ffi::ferry_host_t,
        cfg: *const ffi::ferry_config_t,
        state: *mut *mut c_void,
        err: *mut ffi::ferry_error_t,
    ) -> ffi::ferry_status_t {
        guard(err, || {
            let ctx = Context { host, task };
            let source = S::open(&ctx, &Config { host, cfg })?;
            let boxed = Box::new(Task { ctx, source });
            // SAFETY: state is the host's out-parameter.
            unsafe { *state = Box::into_raw(boxed) as *mut c_void };
            Ok(())
        })
    }

    /// # Safety
    /// state is what open() returned; batch the host's, valid during the call.
    pub unsafe extern "C" fn poll<S: Source>(
        state: *mut c_void,
        batch: *mut ffi::ferry_batch_t,
        err: *mut ffi::ferry_error_t,
    ) -> ffi::ferry_status_t {
        guard(err, || {
            // SAFETY: the task's state, used only on its thread.
            let t = unsafe { &mut *(state as *mut Task<S>) };
            // SAFETY: the host table outlives the task.
            let mut b = Batch { host: unsafe { &*t.ctx.host }, batch };
            t.source.poll(&t.ctx, &mut b)
        })
    }

    /// # Safety
    /// offsets points at count entries the host owns during the call.
    pub unsafe extern "C" fn commit<S: Source>(
        state: *mut c_void,
        offsets: *const ffi::ferry_offset_t,
        count: usize,
        err: *mut ffi::ferry_error_t,
    ) -> ffi::ferry_status_t {
        guard(err, || {
            // SAFETY: the task's state; the offsets are valid during the call.
            let t = unsafe { &mut *(state as *mut Task<S>) };
            let raw = if count == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(offsets, count) } };
            let strs: Vec<(String, String)> = raw
                .iter()
                .map(|o| unsafe {
                    (
                        CStr::from_ptr(o.source_partition).to_string_lossy().into_owned(),
                        CStr::from_ptr(o.source_offset).to_string_lossy().into_owned(),
                    )
                })
                .collect();
            let offs: Vec<Offset> =
                strs.iter().map(|(p, o)| Offset { source_partition: p, source_offset: o }).collect();
            t.source.commit(&t.ctx, &offs)
        })
    }

    /// # Safety
    /// state is what open() returned; called once.
    pub unsafe extern "C" fn close<S: Source>(state: *mut c_void) {
        if !state.is_null() {
            // SAFETY: ownership comes back from the host exactly once.
            let t = unsafe { Box::from_raw(state as *mut Task<S>) };
            let _ = catch_unwind(AssertUnwindSafe(move || drop(t)));
        }
    }
}

/// One entry of an option table, for [`export_source!`]:
/// `option!(TYPE "name", required, "description")` or
/// `option!(TYPE "name", default "value", "description")`, TYPE one of
/// string, int, bool, double, duration, size, secret; `topic` marks a
/// string option as a Kafka topic name.
#[macro_export]
macro_rules! option {
    (@type string) => { $crate::ffi::FERRY_OPT_STRING };
    (@type int) => { $crate::ffi::FERRY_OPT_INT };
    (@type bool) => { $crate::ffi::FERRY_OPT_BOOL };
    (@type double) => { $crate::ffi::FERRY_OPT_DOUBLE };
    (@type duration) => { $crate::ffi::FERRY_OPT_DURATION };
    (@type size) => { $crate::ffi::FERRY_OPT_SIZE };
    (@type secret) => { $crate::ffi::FERRY_OPT_SECRET };
    (@entry $t:ident, $name:literal, $default:expr, $flags:expr, $desc:literal) => {
        $crate::ffi::ferry_option_t {
            name: concat!($name, "\0").as_ptr() as *const ::std::ffi::c_char,
            type_: $crate::option!(@type $t),
            default_value: $default,
            flags: $flags,
            min: 0.0,
            max: 0.0,
            enum_values: ::std::ptr::null(),
            description: concat!($desc, "\0").as_ptr() as *const ::std::ffi::c_char,
        }
    };
    ($t:ident $name:literal, required topic, $desc:literal) => {
        $crate::option!(@entry $t, $name, ::std::ptr::null(),
                        $crate::ffi::FERRY_OPT_REQUIRED | $crate::ffi::FERRY_OPT_TOPIC, $desc)
    };
    ($t:ident $name:literal, required, $desc:literal) => {
        $crate::option!(@entry $t, $name, ::std::ptr::null(), $crate::ffi::FERRY_OPT_REQUIRED, $desc)
    };
    ($t:ident $name:literal, default $value:literal, $desc:literal) => {
        $crate::option!(@entry $t, $name, concat!($value, "\0").as_ptr() as *const ::std::ffi::c_char, 0, $desc)
    };
}

/// Exports `ferry_plugin_entry` for a plugin with one source connector.
#[macro_export]
macro_rules! export_source {
    (plugin: $plugin:literal, version: $version:literal, connector: $name:literal, source: $ty:ty,
     description: $desc:literal, options: [$($opt:expr),* $(,)?] $(,)?) => {
        static FERRY_OPTIONS: &[$crate::ffi::ferry_option_t] = &[
            $($opt,)*
            $crate::ffi::ferry_option_t {
                name: ::std::ptr::null(), type_: 0, default_value: ::std::ptr::null(), flags: 0, min: 0.0,
                max: 0.0, enum_values: ::std::ptr::null(), description: ::std::ptr::null(),
            },
        ];
        static FERRY_CONNECTOR: $crate::ffi::ferry_connector_t = $crate::ffi::ferry_connector_t {
            struct_size: ::std::mem::size_of::<$crate::ffi::ferry_connector_t>() as u32,
            kind: $crate::ffi::FERRY_SOURCE,
            name: concat!($name, "\0").as_ptr() as *const ::std::ffi::c_char,
            version: concat!($version, "\0").as_ptr() as *const ::std::ffi::c_char,
            description: concat!($desc, "\0").as_ptr() as *const ::std::ffi::c_char,
            options: FERRY_OPTIONS.as_ptr(),
            validate: ::std::ptr::null(),
            task_configs: ::std::ptr::null(),
            open: Some($crate::glue::open::<$ty>),
            poll: Some($crate::glue::poll::<$ty>),
            commit: Some($crate::glue::commit::<$ty>),
            put: ::std::ptr::null(),
            flush: ::std::ptr::null(),
            close: Some($crate::glue::close::<$ty>),
            stop: None,
            reserved: [::std::ptr::null_mut(); 4],
            option_size: ::std::mem::size_of::<$crate::ffi::ferry_option_t>() as u32,
            partitions_assigned: ::std::ptr::null(),
            partitions_revoked: ::std::ptr::null(),
        };
        static FERRY_CONNECTORS: $crate::ffi::ConnectorList<2> =
            $crate::ffi::ConnectorList([&FERRY_CONNECTOR as *const _, ::std::ptr::null()]);
        static FERRY_PLUGIN: $crate::ffi::ferry_plugin_t = $crate::ffi::ferry_plugin_t {
            abi_version: $crate::ffi::FERRY_ABI_VERSION,
            struct_size: ::std::mem::size_of::<$crate::ffi::ferry_plugin_t>() as u32,
            name: concat!($plugin, "\0").as_ptr() as *const ::std::ffi::c_char,
            version: concat!($version, "\0").as_ptr() as *const ::std::ffi::c_char,
            connectors: &FERRY_CONNECTORS as *const $crate::ffi::ConnectorList<2>
                as *const *const $crate::ffi::ferry_connector_t,
        };
        /// The plugin's one entry point (ferry.h).
        #[no_mangle]
        pub extern "C" fn ferry_plugin_entry() -> *const $crate::ffi::ferry_plugin_t {
            &FERRY_PLUGIN
        }
    };
}

#[cfg(test)]
mod tests {
    use super::ffi::*;
    use std::mem::{offset_of, size_of};

    /// Sizes and offsets as the C compiler lays them out on x86_64/aarch64 Linux.
    #[test]
    fn layouts_match_ferry_h() {
        assert_eq!(size_of::<ferry_option_t>(), 64);
        assert_eq!(offset_of!(ferry_record_t, kafka_offset), 88);
        assert_eq!(size_of::<ferry_record_t>(), 104);
        assert_eq!(offset_of!(ferry_connector_t, reserved), 112);
        assert_eq!(offset_of!(ferry_connector_t, option_size), 144);
        assert_eq!(offset_of!(ferry_host_t, record_size), 224);
        assert_eq!(offset_of!(ferry_host_t, request_commit), 288);
    }
}
