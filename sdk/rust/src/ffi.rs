//! `#[repr(C)]` mirrors of the parts of `sdk/include/ferry/ferry.h` this crate
//! uses, written by hand (no bindgen). Field order and types follow the
//! header exactly: the structs are read and written by the C host. The
//! members a 1.1 host appended are at the end, as in the header; a member
//! added in 1.N is only used after [`host_has`] says the host has it.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};

pub const FERRY_ABI_MAJOR: u32 = 1;
pub const FERRY_ABI_MINOR: u32 = 1;
pub const FERRY_ABI_VERSION: u32 = (FERRY_ABI_MAJOR << 16) | FERRY_ABI_MINOR;

pub type ferry_status_t = c_int;
pub const FERRY_OK: ferry_status_t = 0;
pub const FERRY_RETRY: ferry_status_t = 1;
pub const FERRY_ERROR: ferry_status_t = 2;
pub const FERRY_FATAL: ferry_status_t = 3;

pub const FERRY_ERRMSG_SIZE: usize = 512;
#[repr(C)]
pub struct ferry_error_t {
    pub msg: [c_char; FERRY_ERRMSG_SIZE],
}

pub type ferry_opt_type_t = c_int;
pub const FERRY_OPT_STRING: ferry_opt_type_t = 0;
pub const FERRY_OPT_INT: ferry_opt_type_t = 1;
pub const FERRY_OPT_BOOL: ferry_opt_type_t = 2;
pub const FERRY_OPT_DOUBLE: ferry_opt_type_t = 3;
pub const FERRY_OPT_DURATION: ferry_opt_type_t = 4;
pub const FERRY_OPT_SIZE: ferry_opt_type_t = 5;
pub const FERRY_OPT_SECRET: ferry_opt_type_t = 9;

pub const FERRY_OPT_REQUIRED: u32 = 0x1;
pub const FERRY_OPT_HAS_MIN: u32 = 0x2;
pub const FERRY_OPT_HAS_MAX: u32 = 0x4;
pub const FERRY_OPT_TOPIC: u32 = 0x8;

#[repr(C)]
pub struct ferry_option_t {
    pub name: *const c_char,
    pub type_: ferry_opt_type_t,
    pub default_value: *const c_char,
    pub flags: u32,
    pub min: f64,
    pub max: f64,
    pub enum_values: *const *const c_char,
    pub description: *const c_char,
}

#[repr(C)]
pub struct ferry_header_t {
    pub name: *const c_char,
    pub value: *const c_void,
    pub value_len: usize,
}

pub const FERRY_RECORD_KEY_STRING: u32 = 1 << 0;
pub const FERRY_RECORD_KEY_JSON: u32 = 1 << 1;
pub const FERRY_RECORD_VALUE_STRING: u32 = 1 << 3;
pub const FERRY_RECORD_VALUE_JSON: u32 = 1 << 4;

#[repr(C)]
pub struct ferry_record_t {
    pub topic: *const c_char,
    pub partition: i32,
    pub key: *const c_void,
    pub key_len: usize,
    pub value: *const c_void,
    pub value_len: usize,
    pub headers: *const ferry_header_t,
    pub header_count: usize,
    pub timestamp_ms: i64,
    pub source_partition: *const c_char,
    pub source_offset: *const c_char,
    pub kafka_offset: i64,
    // 1.1
    pub timestamp_type: i32,
    pub flags: u32,
}

#[repr(C)]
pub struct ferry_offset_t {
    pub source_partition: *const c_char,
    pub source_offset: *const c_char,
}

/// Opaque handles owned by the host.
#[repr(C)]
pub struct ferry_task_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ferry_config_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ferry_batch_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ferry_taskset_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct ferry_flush_t {
    _private: [u8; 0],
}

pub type ferry_log_level_t = c_int;

type Fp<T> = Option<T>;

/// The host API table, append-only (ferry.h). Members this crate never
/// calls keep their place as untyped pointers.
#[repr(C)]
pub struct ferry_host_t {
    pub abi_version: u32,
    pub struct_size: u32,
    pub log: Fp<unsafe extern "C" fn(*mut ferry_task_t, ferry_log_level_t, *const c_char, ...)>,
    pub alloc: Fp<unsafe extern "C" fn(usize) -> *mut c_void>,
    pub free: Fp<unsafe extern "C" fn(*mut c_void)>,
    pub cfg_string: Fp<unsafe extern "C" fn(*const ferry_config_t, *const c_char) -> *const c_char>,
    pub cfg_int: Fp<unsafe extern "C" fn(*const ferry_config_t, *const c_char) -> i64>,
    pub cfg_bool: Fp<unsafe extern "C" fn(*const ferry_config_t, *const c_char) -> c_int>,
    pub cfg_double: Fp<unsafe extern "C" fn(*const ferry_config_t, *const c_char) -> f64>,
    pub cfg_duration_ms: Fp<unsafe extern "C" fn(*const ferry_config_t, *const c_char) -> i64>,
    pub cfg_size: Fp<unsafe extern "C" fn(*const ferry_config_t, *const c_char) -> i64>,
    pub cfg_list: *const c_void,
    pub cfg_map: *const c_void,
    pub cfg_is_set: Fp<unsafe extern "C" fn(*const ferry_config_t, *const c_char) -> c_int>,
    pub batch_add: Fp<unsafe extern "C" fn(*mut ferry_batch_t, *const ferry_record_t) -> ferry_status_t>,
    pub batch_room: Fp<unsafe extern "C" fn(*const ferry_batch_t) -> usize>,
    pub batch_count: Fp<unsafe extern "C" fn(*const ferry_batch_t) -> usize>,
    pub batch_get: Fp<unsafe extern "C" fn(*const ferry_batch_t, usize) -> *const ferry_record_t>,
    pub offset_get: Fp<unsafe extern "C" fn(*mut ferry_task_t, *const c_char) -> *const c_char>,
    pub json_get_int: Fp<unsafe extern "C" fn(*const c_char, *const c_char, *mut i64) -> c_int>,
    pub json_get_str: Fp<unsafe extern "C" fn(*const c_char, *const c_char, *mut c_char, usize) -> c_int>,
    pub should_stop: Fp<unsafe extern "C" fn(*mut ferry_task_t) -> c_int>,
    pub metric_add: Fp<unsafe extern "C" fn(*mut ferry_task_t, *const c_char, f64)>,
    pub metric_set: Fp<unsafe extern "C" fn(*mut ferry_task_t, *const c_char, f64)>,
    pub connector_name: Fp<unsafe extern "C" fn(*mut ferry_task_t) -> *const c_char>,
    pub task_id: Fp<unsafe extern "C" fn(*mut ferry_task_t) -> c_int>,
    pub taskset_add: *const c_void,
    pub taskset_put: *const c_void,
    pub flush_limit: Fp<unsafe extern "C" fn(*mut ferry_flush_t, *const c_char, i32, i64)>,
    // ---- 1.1 ----
    pub record_size: u32,
    pub log_v: *const c_void,
    pub batch_add_sized:
        Fp<unsafe extern "C" fn(*mut ferry_batch_t, *const ferry_record_t, usize) -> ferry_status_t>,
    pub batch_alloc: Fp<unsafe extern "C" fn(*mut ferry_batch_t, usize) -> *mut c_void>,
    pub record_error: *const c_void,
    pub sink_rewind: *const c_void,
    pub sink_pause: *const c_void,
    pub sink_resume: *const c_void,
    pub request_commit: Fp<unsafe extern "C" fn(*mut ferry_task_t)>,
}

pub type ferry_kind_t = c_int;
pub const FERRY_SOURCE: ferry_kind_t = 1;
pub const FERRY_SINK: ferry_kind_t = 2;

pub type OpenFn = unsafe extern "C" fn(
    *mut ferry_task_t,
    *const ferry_host_t,
    *const ferry_config_t,
    *mut *mut c_void,
    *mut ferry_error_t,
) -> ferry_status_t;
pub type PollFn = unsafe extern "C" fn(*mut c_void, *mut ferry_batch_t, *mut ferry_error_t) -> ferry_status_t;
pub type CommitFn =
    unsafe extern "C" fn(*mut c_void, *const ferry_offset_t, usize, *mut ferry_error_t) -> ferry_status_t;
pub type CloseFn = unsafe extern "C" fn(*mut c_void);

#[repr(C)]
pub struct ferry_connector_t {
    pub struct_size: u32,
    pub kind: ferry_kind_t,
    pub name: *const c_char,
    pub version: *const c_char,
    pub description: *const c_char,
    pub options: *const ferry_option_t,
    pub validate: *const c_void,
    pub task_configs: *const c_void,
    pub open: Option<OpenFn>,
    pub poll: Option<PollFn>,
    pub commit: Option<CommitFn>,
    pub put: *const c_void,
    pub flush: *const c_void,
    pub close: Option<CloseFn>,
    pub stop: Option<CloseFn>,
    pub reserved: [*mut c_void; 4],
    // ---- 1.1 ----
    pub option_size: u32,
    pub partitions_assigned: *const c_void,
    pub partitions_revoked: *const c_void,
}

#[repr(C)]
pub struct ferry_plugin_t {
    pub abi_version: u32,
    pub struct_size: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub connectors: *const *const ferry_connector_t,
}

// The descriptors are constant data that the host only reads.
unsafe impl Sync for ferry_option_t {}
unsafe impl Sync for ferry_connector_t {}
unsafe impl Sync for ferry_plugin_t {}

/// A NULL-terminated array of connector pointers, as a static.
#[repr(transparent)]
pub struct ConnectorList<const N: usize>(pub [*const ferry_connector_t; N]);
unsafe impl<const N: usize> Sync for ConnectorList<N> {}

/// FERRY_HOST_HAS: the host's table reaches past `offset + size`.
pub fn host_has(host: &ferry_host_t, offset: usize, size: usize) -> bool {
    host.struct_size as usize >= offset + size
}
