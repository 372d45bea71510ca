//! The task domain: the parsed, always-valid pieces of a task (title,
//! description, tags, priority, due time), the task itself, and the rules for
//! making one (`Task::new`) and changing one (`TaskPatch`, `Task::apply`).
//! Limits are counted in characters, not bytes; every raw string is first
//! held to a byte bound (see `within`), so no unchecked input is trimmed,
//! counted or searched.

use proto::{
    prost_types::{FieldMask, Timestamp},
    task::v1::{Priority as ProtoPriority, Task as ProtoTask},
};

use crate::{
    error::Error,
    list_query::{SortField, SortKey},
};

const TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 1000;
const TAGS_MAX: usize = 10;
const TAG_MAX: usize = 32;
const REQUEST_ID_MAX: usize = 64;
/// More paths than this cannot be a mask over the six updatable fields, even
/// with each named twice.
const MASK_PATHS_MAX: usize = 12;
const MASK_PATH_MAX: usize = 32;
/// Task ids are UUIDs: 36 characters, 45 with a `urn:uuid:` prefix.
const TASK_ID_MAX: usize = 64;
/// Etags are 16 hex digits; a longer one cannot match any task.
const ETAG_MAX: usize = 64;

/// Refuses `raw` when it is longer than `max_chars` characters could be in
/// UTF-8 (four bytes each), before anything looks at its contents, so the
/// work spent on a string is bounded by its limit, not by what was sent.
/// Then refuses NUL: PostgreSQL cannot store it in text, and no title, tag
/// or search needs it.
pub(crate) fn within(
    raw: &str,
    field: &'static str,
    max_chars: usize,
    rule: &'static str,
) -> Result<(), Error> {
    if raw.len() > max_chars.saturating_mul(4) {
        return Err(Error::invalid(field, rule));
    }
    if raw.contains('\0') {
        return Err(Error::invalid(field, "must not contain NUL characters"));
    }
    Ok(())
}

// The database only ever holds values that were parsed on their way in, so
// the `from_stored` constructors below take what it gives back unchecked.

/// A title of 1 to 200 characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskTitle(String);

impl TaskTitle {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        within(
            raw,
            "task.title",
            TITLE_MAX,
            "must be at most 200 characters",
        )?;
        let title = raw.trim();
        if title.is_empty() {
            return Err(Error::invalid(
                "task.title",
                "is required (1 to 200 characters)",
            ));
        }
        if title.chars().count() > TITLE_MAX {
            return Err(Error::invalid(
                "task.title",
                "must be at most 200 characters",
            ));
        }
        Ok(Self(title.to_owned()))
    }

    pub(crate) fn from_stored(title: String) -> Self {
        Self(title)
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
        within(
            &raw,
            "task.description",
            DESCRIPTION_MAX,
            "must be at most 1000 characters",
        )?;
        if raw.chars().count() > DESCRIPTION_MAX {
            return Err(Error::invalid(
                "task.description",
                "must be at most 1000 characters",
            ));
        }
        Ok(Self(raw))
    }

    pub(crate) fn from_stored(description: String) -> Self {
        Self(description)
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
    /// `field` names the request field in errors: tags are parsed both as a
    /// task's (`task.tags`) and as a list filter (`tags`).
    pub fn parse(raw: Vec<String>, field: &'static str) -> Result<Self, Error> {
        // Counted before deduplication (quadratic in the count): a client
        // that repeats a tag or two is fine, a list of thousands is not.
        if raw.len() > 2 * TAGS_MAX {
            return Err(Error::invalid(field, "at most 10 tags are allowed"));
        }
        let mut tags: Vec<String> = Vec::with_capacity(raw.len());
        for tag in raw {
            within(
                &tag,
                field,
                TAG_MAX,
                "each tag must be at most 32 characters",
            )?;
            let tag = tag.trim();
            if tag.is_empty() {
                return Err(Error::invalid(field, "a tag must not be empty"));
            }
            if tag.chars().count() > TAG_MAX {
                return Err(Error::invalid(
                    field,
                    "each tag must be at most 32 characters",
                ));
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

    pub(crate) fn from_stored(tags: Vec<String>) -> Self {
        Self(tags)
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
            Err(_) => Err(Error::invalid(
                field,
                format!("unknown value {raw}; use PRIORITY_LOW, PRIORITY_MEDIUM or PRIORITY_HIGH"),
            )),
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
        return Err(Error::invalid(
            field,
            "nanos must be between 0 and 999999999",
        ));
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

/// A task's due time from the wire: `None` when it has none.
fn due_time(due: Option<&Timestamp>) -> Result<Option<i64>, Error> {
    due.map(|due| micros_from_timestamp(due, "task.due_time"))
        .transpose()
}

/// An optional client-chosen id that makes CreateTask safe to retry.
#[derive(Clone, Debug)]
pub struct RequestId(String);

impl RequestId {
    pub fn parse(raw: String) -> Result<Option<Self>, Error> {
        within(
            &raw,
            "request_id",
            REQUEST_ID_MAX,
            "must be at most 64 characters",
        )?;
        let raw = raw.trim().to_owned();
        if raw.is_empty() {
            return Ok(None);
        }
        if raw.chars().count() > REQUEST_ID_MAX {
            return Err(Error::invalid(
                "request_id",
                "must be at most 64 characters",
            ));
        }
        Ok(Some(Self(raw)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The etag a client sends to make a write conditional; `None` when empty.
/// One that cannot be an etag of ours is INVALID_ARGUMENT, so it never
/// reaches the database.
pub fn parse_etag(raw: String) -> Result<Option<String>, Error> {
    if raw.len() > ETAG_MAX || !raw.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
        return Err(Error::invalid(
            "etag",
            "is not an etag this service issued; get the task again",
        ));
    }
    Ok((!raw.is_empty()).then_some(raw))
}

/// A task's id. A malformed id cannot name any task, so it is NOT_FOUND, not
/// INVALID_ARGUMENT: the answer is the same as for a missing task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskId(String);

impl TaskId {
    pub fn parse(raw: &str) -> Result<Self, Error> {
        if raw.len() > TASK_ID_MAX {
            return Err(Error::NotFound);
        }
        uuid::Uuid::parse_str(raw.trim())
            .map(|id| Self(id.hyphenated().to_string()))
            .map_err(|_| Error::NotFound)
    }

    /// A new, time-ordered (v7) id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().hyphenated().to_string())
    }

    pub(crate) fn from_stored(id: String) -> Self {
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The user whose tasks these are. The auth service vouches for it; this
/// service never looks inside, it only keeps each user's tasks apart.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// The id of a caller the auth service has verified, or of a stored task's owner.
    pub fn new(id: String) -> Self {
        Self(id)
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
        // Checked in this order, so the first bad field is the one reported.
        Ok(Self {
            title: TaskTitle::parse(&task.title)?,
            description: Description::parse(task.description)?,
            completed: task.completed,
            priority: Priority::parse(task.priority, "task.priority")?.unwrap_or(Priority::Medium),
            tags: Tags::parse(task.tags, "task.tags")?,
            due_time: due_time(task.due_time.as_ref())?,
        })
    }
}

/// A task as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub id: TaskId,
    pub user_id: UserId,
    pub title: TaskTitle,
    pub description: Description,
    pub completed: bool,
    pub priority: Priority,
    pub tags: Tags,
    pub due_time: Option<i64>,
    pub create_time: i64,
    pub update_time: i64,
    pub complete_time: Option<i64>,
    pub etag: String,
}

impl Task {
    /// `user`'s new task, made at `now` with a fresh id and etag.
    pub fn new(user: UserId, new: NewTask, now: i64) -> Self {
        Self {
            id: TaskId::generate(),
            user_id: user,
            title: new.title,
            description: new.description,
            completed: new.completed,
            priority: new.priority,
            tags: new.tags,
            due_time: new.due_time,
            create_time: now,
            update_time: now,
            complete_time: new.completed.then_some(now),
            etag: new_etag(),
        }
    }

    /// This task with `patch` applied, as the version written at `now`.
    /// Completing sets `complete_time` and reopening clears it; naming
    /// `completed` without changing it keeps the time it was completed.
    pub fn apply(&self, patch: TaskPatch, now: i64) -> Self {
        let mut next = self.clone();
        if let Some(title) = patch.title {
            next.title = title;
        }
        if let Some(description) = patch.description {
            next.description = description;
        }
        if let Some(completed) = patch.completed
            && completed != self.completed
        {
            next.completed = completed;
            next.complete_time = completed.then_some(now);
        }
        if let Some(priority) = patch.priority {
            next.priority = priority;
        }
        if let Some(tags) = patch.tags {
            next.tags = tags;
        }
        if let Some(due_time) = patch.due_time {
            next.due_time = due_time;
        }
        next.next_version(now)
    }

    /// A new version written at `now`: a fresh etag, and an update time that
    /// keeps increasing even if the clock steps back, so "updated since"
    /// and update-time order stay true.
    fn next_version(mut self, now: i64) -> Self {
        self.etag = new_etag();
        self.update_time = now.max(self.update_time + 1);
        self
    }

    /// `due_time` for sorting: a task without one sorts as if due at the end
    /// of time (the store keeps this value in an indexed column).
    pub fn due_key(&self) -> i64 {
        self.due_time.unwrap_or(i64::MAX)
    }

    /// The value this task sorts by on `field`, for the next page's cursor.
    pub fn sort_key(&self, field: SortField) -> SortKey {
        match field {
            SortField::CreateTime => SortKey::Number(self.create_time),
            SortField::UpdateTime => SortKey::Number(self.update_time),
            SortField::DueTime => SortKey::Number(self.due_key()),
            SortField::Priority => SortKey::Number(self.priority.number()),
            SortField::Title => SortKey::Text(self.title.as_str().to_owned()),
        }
    }

    pub fn into_proto(self) -> ProtoTask {
        ProtoTask {
            id: self.id.0,
            title: self.title.0,
            description: self.description.0,
            completed: self.completed,
            priority: match self.priority {
                Priority::Low => ProtoPriority::Low,
                Priority::Medium => ProtoPriority::Medium,
                Priority::High => ProtoPriority::High,
            } as i32,
            tags: self.tags.0,
            due_time: self.due_time.map(timestamp_from_micros),
            create_time: Some(timestamp_from_micros(self.create_time)),
            update_time: Some(timestamp_from_micros(self.update_time)),
            complete_time: self.complete_time.map(timestamp_from_micros),
            etag: self.etag,
        }
    }
}

/// A fresh etag: it changes on every write.
fn new_etag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()
}

/// A field UpdateTask may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Title,
    Description,
    Completed,
    Priority,
    Tags,
    DueTime,
}

/// The updatable fields by their mask paths, in the order error messages list them.
const UPDATABLE: [(&str, Field); 6] = [
    ("title", Field::Title),
    ("description", Field::Description),
    ("completed", Field::Completed),
    ("priority", Field::Priority),
    ("tags", Field::Tags),
    ("due_time", Field::DueTime),
];

impl Field {
    fn from_path(path: &str) -> Option<Self> {
        UPDATABLE
            .iter()
            .find(|(name, _)| *name == path)
            .map(|(_, field)| *field)
    }

    /// The fields an update changes: those `mask` names or, without a mask
    /// (or with an empty one), those `task` sets to non-default values
    /// (AIP-134). A mask naming no field, or a field that cannot be updated,
    /// is INVALID_ARGUMENT.
    fn named(mask: Option<FieldMask>, task: &ProtoTask) -> Result<Vec<Self>, Error> {
        let fields: Vec<Self> = match mask {
            Some(mask) if mask.paths.len() > MASK_PATHS_MAX => {
                return Err(Error::invalid(
                    "update_mask",
                    "names too many paths; updatable fields are title, description, completed, \
                     priority, tags, due_time",
                ));
            }
            Some(mask) if !mask.paths.is_empty() => mask
                .paths
                .iter()
                .map(|path| {
                    Self::from_path(path).ok_or_else(|| {
                        // Quoted in the message: cut to a bounded length first.
                        path.chars().take(MASK_PATH_MAX).collect::<String>()
                    })
                })
                .collect::<Result<_, _>>()
                .map_err(|unknown| {
                    let names: Vec<&str> = UPDATABLE.iter().map(|(name, _)| *name).collect();
                    Error::invalid(
                        "update_mask",
                        format!(
                            "unknown field {unknown:?}; updatable fields are {}",
                            names.join(", ")
                        ),
                    )
                })?,
            _ => UPDATABLE
                .iter()
                .map(|(_, field)| *field)
                .filter(|field| field.is_set(task))
                .collect(),
        };
        if fields.is_empty() {
            return Err(Error::invalid(
                "update_mask",
                "names no field and the task sets none; nothing to update",
            ));
        }
        Ok(fields)
    }

    /// Whether `task` sets this field to a non-default value.
    fn is_set(self, task: &ProtoTask) -> bool {
        match self {
            Self::Title => !task.title.is_empty(),
            Self::Description => !task.description.is_empty(),
            Self::Completed => task.completed,
            Self::Priority => task.priority != 0,
            Self::Tags => !task.tags.is_empty(),
            Self::DueTime => task.due_time.is_some(),
        }
    }
}

/// An UpdateTask request, parsed: which task, the etag the client read (if
/// it sent one), and a new, valid value for each field the mask names.
#[derive(Clone, Debug)]
pub struct TaskPatch {
    pub id: TaskId,
    /// Without one, the update applies to whatever version is stored.
    pub etag: Option<String>,
    title: Option<TaskTitle>,
    description: Option<Description>,
    completed: Option<bool>,
    priority: Option<Priority>,
    tags: Option<Tags>,
    /// `Some(None)` clears the due time.
    due_time: Option<Option<i64>>,
}

impl TaskPatch {
    /// Reads the fields named by `mask` from `task`. A malformed id is
    /// NOT_FOUND, checked after the mask and before any value is read.
    pub fn parse(task: ProtoTask, mask: Option<FieldMask>) -> Result<Self, Error> {
        let fields = Field::named(mask, &task)?;
        let mut patch = Self {
            id: TaskId::parse(&task.id)?,
            etag: None,
            title: None,
            description: None,
            completed: None,
            priority: None,
            tags: None,
            due_time: None,
        };
        // In mask order, so the first bad value named is the one reported.
        for field in fields {
            match field {
                Field::Title => patch.title = Some(TaskTitle::parse(&task.title)?),
                Field::Description => {
                    patch.description = Some(Description::parse(task.description.clone())?);
                }
                Field::Completed => patch.completed = Some(task.completed),
                Field::Priority => {
                    patch.priority = Some(
                        Priority::parse(task.priority, "task.priority")?
                            .unwrap_or(Priority::Medium),
                    );
                }
                Field::Tags => patch.tags = Some(Tags::parse(task.tags.clone(), "task.tags")?),
                Field::DueTime => patch.due_time = Some(due_time(task.due_time.as_ref())?),
            }
        }
        patch.etag = parse_etag(task.etag)?;
        Ok(patch)
    }
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

    fn mask(paths: &[&str]) -> Option<FieldMask> {
        Some(FieldMask {
            paths: paths.iter().map(|path| (*path).to_owned()).collect(),
        })
    }

    fn stored() -> Task {
        let new = NewTask::parse(ProtoTask {
            title: "draft".into(),
            description: "notes".into(),
            ..ProtoTask::default()
        })
        .unwrap();
        Task::new(UserId::new("ada".into()), new, 1_000)
    }

    #[test]
    fn a_patch_changes_only_the_masked_fields_as_a_new_version() {
        let task = stored();
        let patch = TaskPatch::parse(
            ProtoTask {
                id: task.id.as_str().to_owned(),
                title: " final ".into(),
                description: "not in the mask".into(),
                ..ProtoTask::default()
            },
            mask(&["title", "due_time"]),
        )
        .unwrap();
        let next = task.apply(patch, 500);
        assert_eq!(next.title.as_str(), "final");
        assert_eq!(next.description.as_str(), "notes");
        assert_ne!(next.etag, task.etag);
        assert_eq!(next.update_time, 1_001, "update time never goes back");
        assert_eq!(next.create_time, task.create_time);
    }

    #[test]
    fn without_a_mask_the_set_fields_are_updated() {
        let task = stored();
        let patch = TaskPatch::parse(
            ProtoTask {
                id: task.id.as_str().to_owned(),
                completed: true,
                ..ProtoTask::default()
            },
            None,
        )
        .unwrap();
        let done = task.apply(patch, 2_000);
        assert_eq!((done.completed, done.complete_time), (true, Some(2_000)));
        assert_eq!(done.title, task.title);
        let reopened = done.apply(
            TaskPatch::parse(
                ProtoTask {
                    id: task.id.as_str().to_owned(),
                    ..ProtoTask::default()
                },
                mask(&["completed"]),
            )
            .unwrap(),
            3_000,
        );
        assert_eq!((reopened.completed, reopened.complete_time), (false, None));
    }

    #[test]
    fn bad_masks_are_refused_before_the_id_and_the_id_before_the_values() {
        let invalid = |result: Result<TaskPatch, Error>| match result {
            Err(Error::InvalidArgument(violation)) => violation.to_string(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        };
        let nothing = ProtoTask::default();
        assert!(invalid(TaskPatch::parse(nothing.clone(), None)).starts_with("update_mask"));
        assert!(
            invalid(TaskPatch::parse(nothing.clone(), mask(&["title", "etag"])))
                .starts_with("update_mask: unknown field \"etag\"")
        );
        assert!(matches!(
            TaskPatch::parse(nothing.clone(), mask(&["title"])),
            Err(Error::NotFound)
        ));
        let id = TaskId::generate().as_str().to_owned();
        let bad_values = ProtoTask {
            id,
            priority: 42,
            ..ProtoTask::default()
        };
        assert!(
            invalid(TaskPatch::parse(
                bad_values.clone(),
                mask(&["priority", "title"])
            ))
            .starts_with("task.priority")
        );
        assert!(
            invalid(TaskPatch::parse(bad_values, mask(&["title", "priority"])))
                .starts_with("task.title")
        );
    }
}
