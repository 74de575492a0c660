//! rust-counter-source: emits "rust N" for N = 0 .. count-1 to `topic`, with
//! the source offset {"n":N} of the single source partition
//! {"rust":"counter"}, and resumes after the last durable N. Built as a
//! cdylib (`cargo build --release --examples` → librust_counter.so).

use ferry_sdk::{Added, Batch, Config, Context, Error, Level, Offset, Record, Source};
use std::time::Duration;

const PARTITION: &str = r#"{"rust":"counter"}"#;

struct Counter {
    topic: String,
    next: i64,
    count: i64,
}

impl Source for Counter {
    fn open(ctx: &Context, cfg: &Config) -> Result<Self, Error> {
        // The host validated the config, but `ferry tck` checks that a
        // missing required option fails open rather than crashing.
        let topic = cfg.string("topic").filter(|t| !t.is_empty());
        let topic = topic.ok_or_else(|| Error::Error("rust-counter-source: option topic must not be empty".into()))?;
        let next = ctx
            .offset_get(PARTITION)
            .and_then(|o| ctx.json_get_int(&o, "n"))
            .map_or(0, |n| n + 1);
        ctx.log(Level::Info, &format!("counting from {next} to {}", cfg.int("count")));
        Ok(Counter { topic, next, count: cfg.int("count") })
    }

    fn poll(&mut self, ctx: &Context, batch: &mut Batch) -> Result<(), Error> {
        if self.next >= self.count {
            // Done: idle within the ~100 ms poll budget.
            if !ctx.should_stop() {
                std::thread::sleep(Duration::from_millis(50));
            }
            return Ok(());
        }
        while self.next < self.count && batch.room() > 0 && !ctx.should_stop() {
            let value = format!("rust {}", self.next);
            let offset = format!(r#"{{"n":{}}}"#, self.next);
            let rec = Record {
                topic: Some(&self.topic),
                value: Some(value.as_bytes()),
                source_partition: Some(PARTITION),
                source_offset: Some(&offset),
                flags: ferry_sdk::ffi::FERRY_RECORD_VALUE_STRING,
                ..Default::default()
            };
            if batch.add(&rec)? == Added::Full {
                break;
            }
            self.next += 1;
        }
        Ok(())
    }

    fn commit(&mut self, ctx: &Context, offsets: &[Offset]) -> Result<(), Error> {
        for o in offsets {
            ctx.log(Level::Debug, &format!("durable: {} {}", o.source_partition, o.source_offset));
        }
        Ok(())
    }
}

ferry_sdk::export_source! {
    plugin: "rust-counter",
    version: "0.1.0",
    connector: "rust-counter-source",
    source: Counter,
    description: "Emits \"rust N\" for N from 0 to count-1, resuming after the last durable N (Rust SDK example).",
    options: [
        ferry_sdk::option!(string "topic", required topic, "Kafka topic the records go to."),
        ferry_sdk::option!(int "count", default "100", "Records to emit in total, across restarts."),
    ],
}
