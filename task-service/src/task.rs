//! The task domain: the parsed, always-valid pieces of a task (title,
//! description, tags, priority, due time) and the stored task itself.
//! Limits are counted in characters, not bytes.

use proto::{
    prost_types::Timestamp,
    task::v1::{Priority as ProtoPriority, Task as ProtoTask},
};

use crate::error::Error;

const TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 1000;
const TAGS_MAX: usize = 10;
const TAG_MAX: usize = 32;
const REQUEST_ID_MAX: usize = 64;

/// A title of 1 to 200 characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let title = raw.trim();
        if title.is_empty() {
            return Err(Error::invalid(
                "task.title", "is required (1 to 200 characters)",
            ));
        }
        if title.chars().count() > TITLE_MAX {
            return Err(Error::invalid("task.title", "must be at most 200 characters"));
        }
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A description of at most 1000 characters, kept as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: String) -> Result<Self, Error> {
        if raw.chars().count() > DESCRIPTION_MAX {
            return Err(Error::invalid(
                "task.description", "must be at most 1000 characters",
            ));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// At most 10 tags of 1 to 32 characters each: trimmed, duplicates dropped,
/// in the order first given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags(Vec<String>);

impl Tags {
    pub fn parse(raw: Vec<String>, field: &'static str) -> Result<Self, Error> {
        let mut tags: Vec<String> = Vec::with_capacity(raw.len());
        for tag in raw {
            let tag = tag.trim();
            if tag.is_empty() {
                return Err(Error::invalid(field, "a tag must not be empty"));
            }
            if tag.chars().count() > TAG_MAX {
                return Err(Error::invalid(field, "each tag must be at most 32 characters"));
            }
            if !tags.iter().any(|seen| seen == tag) {
                tags.push(tag.to_owned());
            }
        }
        if tags.len() > TAGS_MAX {
            return Err(Error::invalid(field, "at most 10 tags are allowed"));
        }
        Ok(Self(tags))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// How urgent a task is; stored as its proto number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    Low,
    Medium,
    High,
}

impl Priority {
    /// A priority from the wire; `None` for UNSPECIFIED, an error for numbers
    /// the contract does not know.
    pub fn parse(raw: i32, field: &'static str) -> Result<Option<Self>, Error> {
        match ProtoPriority::try_from(raw) {
            Ok(ProtoPriority::Unspecified) => Ok(None),
            Ok(ProtoPriority::Low) => Ok(Some(Self::Low)),
            Ok(ProtoPriority::Medium) => Ok(Some(Self::Medium)),
            Ok(ProtoPriority::High) => Ok(Some(Self::High)),
            Err(_) => Err(Error::invalid(field, format!(
                "unknown value {raw}; use PRIORITY_LOW, PRIORITY_MEDIUM or PRIORITY_HIGH"
            ))),
        }
    }

    pub fn number(self) -> i64 {
        match self {
            Self::Low => 1,
            Self::Medium => 2,
            Self::High => 3,
        }
    }

    pub fn from_number(number: i64) -> Self {
        match number {
            1 => Self::Low,
            3 => Self::High,
            _ => Self::Medium,
        }
    }
}

/// A point in time as Unix microseconds, the unit the store keeps.
pub fn micros_from_timestamp(timestamp: &Timestamp, field: &'static str) -> Result<i64, Error> {
    if !(0..1_000_000_000).contains(&timestamp.nanos) {
        return Err(Error::invalid(field, "nanos must be between 0 and 999999999"));
    }
    timestamp
        .seconds
        .checked_mul(1_000_000)
        .and_then(|micros| micros.checked_add(i64::from(timestamp.nanos / 1000)))
        .filter(|micros| *micros < i64::MAX)
        .ok_or_else(|| Error::invalid(field, "out of range"))
}

pub fn timestamp_from_micros(micros: i64) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        // The remainder is below 1_000_000, so the product fits easily.
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1000).unwrap_or(0),
    }
}

/// The current time in Unix microseconds.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
        })
}

/// An optional client-chosen id that makes CreateTask safe to retry.
#[derive(Clone, Debug)]
pub struct RequestId(String);

impl RequestId {
    pub fn parse(raw: String) -> Result<Option<Self>, Error> {
        let raw = raw.trim().to_owned();
        if raw.is_empty() {
            return Ok(None);
        }
        if raw.chars().count() > REQUEST_ID_MAX {
            return Err(Error::invalid("request_id", "must be at most 64 characters"));
        }
        Ok(Some(Self(raw)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A task's id. A malformed id cannot name any task, so it is NOT_FOUND, not
/// INVALID_ARGUMENT: the answer is the same as for a missing task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskId(String);

impl TaskId {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        uuid::Uuid::parse_str(raw.trim())
            .map(|id| Self(id.hyphenated().to_string()))
            .map_err(|_| Error::NotFound)
    }

    /// A new, time-ordered (v7) id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().hyphenated().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fields a client sets on a new task, parsed.
#[derive(Clone, Debug)]
pub struct NewTask {
    pub title: TaskTitle,
    pub description: Description,
    pub completed: bool,
    pub priority: Priority,
    pub tags: Tags,
    pub due_time: Option<i64>,
}

impl NewTask {
    pub fn parse(task: ProtoTask) -> Result<Self, Error> {
        Ok(Self {
            title: TaskTitle::parse(&task.title)?,
            description: Description::parse(task.description)?,
            completed: task.completed,
            priority: Priority::parse(task.priority, "task.priority")?.unwrap_or(Priority::Medium),
            tags: Tags::parse(task.tags, "task.tags")?,
            due_time: task
                .due_time
                .as_ref()
                .map(|due| micros_from_timestamp(due, "task.due_time"))
                .transpose()?,
        })
    }
}

/// A task as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub user_id: String,
    pub title: String,
    pub description: String,
    pub completed: bool,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub due_time: Option<i64>,
    pub create_time: i64,
    pub update_time: i64,
    pub complete_time: Option<i64>,
    pub etag: String,
}

impl Task {
    pub fn into_proto(self) -> ProtoTask {
        ProtoTask {
            id: self.id,
            title: self.title,
            description: self.description,
            completed: self.completed,
            priority: match self.priority {
                Priority::Low => ProtoPriority::Low,
                Priority::Medium => ProtoPriority::Medium,
                Priority::High => ProtoPriority::High,
            } as i32,
            tags: self.tags,
            due_time: self.due_time.map(timestamp_from_micros),
            create_time: Some(timestamp_from_micros(self.create_time)),
            update_time: Some(timestamp_from_micros(self.update_time)),
            complete_time: self.complete_time.map(timestamp_from_micros),
            etag: self.etag,
        }
    }
}

/// A fresh etag: it changes on every write.
pub fn new_etag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_count_characters_and_are_trimmed() {
        assert_eq!(
            TaskTitle::parse("  buy milk ").unwrap().as_str(),
            "buy milk"
        );
        assert!(TaskTitle::parse(&"🦀".repeat(200)).is_ok());
        assert!(TaskTitle::parse(&"🦀".repeat(201)).is_err());
        assert!(TaskTitle::parse("   ").is_err());
    }

    #[test]
    fn tags_are_trimmed_deduplicated_and_limited() {
        let tags = Tags::parse(
            vec![" home ".into(), "home".into(), "work".into()],
            "task.tags",
        )
        .unwrap();
        assert_eq!(tags.as_slice(), ["home", "work"]);
        assert!(Tags::parse(vec!["".into()], "task.tags").is_err());
        assert!(Tags::parse(vec!["x".repeat(33)], "task.tags").is_err());
        assert!(Tags::parse((0..11).map(|i| i.to_string()).collect(), "task.tags").is_err());
        // Eleven given, ten after dropping a duplicate: fine.
        let mut eleven: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        eleven.push("0".into());
        assert!(Tags::parse(eleven, "task.tags").is_ok());
    }

    #[test]
    fn timestamps_round_trip_through_micros() {
        let timestamp = Timestamp {
            seconds: 1_700_000_000,
            nanos: 123_456_000,
        };
        let micros = micros_from_timestamp(&timestamp, "t").unwrap();
        assert_eq!(timestamp_from_micros(micros), timestamp);
        assert!(
            micros_from_timestamp(
                &Timestamp {
                    seconds: 0,
                    nanos: -1
                },
                "t"
            )
            .is_err()
        );
        assert!(
            micros_from_timestamp(
                &Timestamp {
                    seconds: i64::MAX,
                    nanos: 0
                },
                "t"
            )
            .is_err()
        );
    }

    #[test]
    fn malformed_ids_are_not_found() {
        assert!(matches!(TaskId::parse("nope"), Err(Error::NotFound)));
        assert!(TaskId::parse(&uuid::Uuid::now_v7().to_string()).is_ok());
    }
}
