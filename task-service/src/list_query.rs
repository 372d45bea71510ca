//! ListTasks' request, parsed: which tasks (the filter), in what order, how
//! many per page, and where this page starts (from the page token).

use proto::task::v1::ListTasksRequest;
use serde::{Deserialize, Serialize};

use crate::{
    error::Error,
    page_token::{Fingerprint, PageToken, PageTokenKey},
    task::{Priority, Tags, Task, within},
};

const DEFAULT_PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 100;
/// Longest search text, in characters.
const QUERY_MAX: usize = 200;
/// `order_by` is a field and a direction: `update_time desc` is the longest.
const ORDER_BY_MAX: usize = 32;

/// The fields a list can be ordered by; each maps to one indexed column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SortField {
    CreateTime,
    UpdateTime,
    DueTime,
    Priority,
    Title,
}

impl SortField {
    /// The column to sort on: a fixed identifier, never text from the request.
    pub fn column(self) -> &'static str {
        match self {
            Self::CreateTime => "create_time",
            Self::UpdateTime => "update_time",
            // Tasks without a due date sort as if due at the end of time.
            Self::DueTime => "due_key",
            Self::Priority => "priority",
            Self::Title => "title",
        }
    }
}

/// A parsed `order_by`: a field and a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OrderBy {
    pub field: SortField,
    pub descending: bool,
}

impl OrderBy {
    /// `""` is `create_time desc`; otherwise a field optionally followed by
    /// `asc` (the default) or `desc`.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        within(
            raw,
            "order_by",
            ORDER_BY_MAX,
            "is not supported; use one of create_time, update_time, due_time, priority, title, \
             followed by asc or desc",
        )?;
        let words: Vec<&str> = raw.split_whitespace().collect();
        let invalid = || {
            Error::invalid(
                "order_by",
                format!(
                    "{raw:?} is not supported; use one of create_time, update_time, due_time, \
                 priority, title, followed by asc or desc"
                ),
            )
        };
        let (field, direction) = match words.as_slice() {
            [] => {
                return Ok(Self {
                    field: SortField::CreateTime,
                    descending: true,
                });
            }
            [field] => (*field, "asc"),
            [field, direction] => (*field, *direction),
            _ => return Err(invalid()),
        };
        let field = match field {
            "create_time" => SortField::CreateTime,
            "update_time" => SortField::UpdateTime,
            "due_time" => SortField::DueTime,
            "priority" => SortField::Priority,
            "title" => SortField::Title,
            _ => return Err(invalid()),
        };
        let descending = match direction.to_ascii_lowercase().as_str() {
            "asc" => false,
            "desc" => true,
            _ => return Err(invalid()),
        };
        Ok(Self { field, descending })
    }
}

/// Which tasks a list shows. Its JSON form is what page tokens are bound
/// to: changing the fields or their serialization refuses the tokens issued
/// before.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Filter {
    /// Lower-cased text to find in the title or description.
    pub query: Option<String>,
    pub completed: Option<bool>,
    /// Tasks carrying every one of these tags.
    #[serde(serialize_with = "tags_as_list")]
    pub tags: Tags,
    #[serde(serialize_with = "priority_as_number")]
    pub priority: Option<Priority>,
}

/// Sorted, so the order the tags were given in does not change the query.
fn tags_as_list<S: serde::Serializer>(tags: &Tags, serializer: S) -> Result<S::Ok, S::Error> {
    let mut sorted = tags.as_slice().to_vec();
    sorted.sort();
    sorted.serialize(serializer)
}

fn priority_as_number<S: serde::Serializer>(
    priority: &Option<Priority>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    priority.map(Priority::number).serialize(serializer)
}

/// Page sizes: 0 means 50, more than 100 means 100, negative is an error.
fn page_size(raw: i32) -> Result<usize, Error> {
    match usize::try_from(raw) {
        Err(_) => Err(Error::invalid("page_size", "must not be negative")),
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(size) => Ok(size.min(MAX_PAGE_SIZE)),
    }
}

/// The sort value of a task, as a page's cursor holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortKey {
    Number(i64),
    Text(String),
}

impl SortKey {
    /// Whether this is the kind of value `field` sorts by.
    pub fn fits(&self, field: SortField) -> bool {
        match self {
            Self::Text(_) => field == SortField::Title,
            Self::Number(_) => field != SortField::Title,
        }
    }
}

/// Where a page starts: after the task with this sort value and id. Keyset
/// paging: tasks added meanwhile never shift later pages, and no OFFSET scan
/// is needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub key: SortKey,
    /// Ties on the sort value break on the id. It comes from the client's
    /// token, so it is only ever compared with stored ids, never trusted as one.
    pub id: String,
}

/// A ListTasks request, parsed.
#[derive(Clone, Debug)]
pub struct ListQuery {
    pub filter: Filter,
    pub order: OrderBy,
    pub page_size: usize,
    /// `None` for the first page.
    pub after: Option<Cursor>,
    /// What this page's token and the next one's are bound to.
    fingerprint: Fingerprint,
    /// What they are sealed with.
    key: PageTokenKey,
}

impl ListQuery {
    pub fn parse(request: ListTasksRequest, key: &PageTokenKey) -> Result<Self, Error> {
        within(
            &request.query,
            "query",
            QUERY_MAX,
            "must be at most 200 characters",
        )?;
        let query = request.query.trim().to_lowercase();
        if query.chars().count() > QUERY_MAX {
            return Err(Error::invalid("query", "must be at most 200 characters"));
        }
        let filter = Filter {
            query: (!query.is_empty()).then_some(query),
            completed: request.completed,
            tags: Tags::parse(request.tags, "tags")?,
            priority: Priority::parse(request.priority, "priority")?,
        };
        let order = OrderBy::parse(&request.order_by)?;
        let page_size = page_size(request.page_size)?;
        let fingerprint = Fingerprint::of(&(&filter, &order));
        let after = match request.page_token.as_str() {
            "" => None,
            token => Some(PageToken::decode(token, &fingerprint, order.field, key)?),
        };
        Ok(Self {
            filter,
            order,
            page_size,
            after,
            fingerprint,
            key: key.clone(),
        })
    }

    /// The token for the page that follows one ending with `last`.
    pub fn next_page_token(&self, last: &Task) -> String {
        let cursor = Cursor {
            key: last.sort_key(self.order.field),
            id: last.id.as_str().to_owned(),
        };
        PageToken::encode(cursor, &self.fingerprint, &self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PageTokenKey {
        PageTokenKey::from_hex(&PageTokenKey::generate()).unwrap()
    }

    #[test]
    fn order_by_accepts_the_fields_and_directions() {
        assert_eq!(
            OrderBy::parse("").unwrap(),
            OrderBy {
                field: SortField::CreateTime,
                descending: true
            }
        );
        assert_eq!(
            OrderBy::parse("title").unwrap(),
            OrderBy {
                field: SortField::Title,
                descending: false
            }
        );
        assert_eq!(
            OrderBy::parse(" due_time  DESC ").unwrap(),
            OrderBy {
                field: SortField::DueTime,
                descending: true
            }
        );
        for bad in [
            "id",
            "title sideways",
            "title asc extra",
            "title; DROP TABLE tasks",
        ] {
            assert!(OrderBy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn page_sizes_are_coerced() {
        assert_eq!(page_size(0).unwrap(), 50);
        assert_eq!(page_size(7).unwrap(), 7);
        assert_eq!(page_size(500).unwrap(), 100);
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn tokens_are_bound_to_the_filters_and_order_that_issued_them() {
        let key = key();
        let first = ListQuery::parse(
            ListTasksRequest {
                tags: vec!["b".into(), "a".into()],
                ..ListTasksRequest::default()
            },
            &key,
        )
        .unwrap();
        let cursor = Cursor {
            key: SortKey::Number(42),
            id: "x".into(),
        };
        let token = PageToken::encode(cursor.clone(), &first.fingerprint, &key);
        let next = |request: ListTasksRequest| {
            ListQuery::parse(
                ListTasksRequest {
                    page_token: token.clone(),
                    ..request
                },
                &key,
            )
        };
        let same = ListTasksRequest {
            tags: vec!["a".into(), "b".into()],
            ..ListTasksRequest::default()
        };
        assert_eq!(
            next(same.clone()).unwrap().after,
            Some(cursor),
            "the order of the tags does not matter"
        );
        let other_filter = ListTasksRequest {
            completed: Some(true),
            ..same.clone()
        };
        assert!(next(other_filter).is_err());
        let other_order = ListTasksRequest {
            order_by: "title".into(),
            ..same
        };
        assert!(next(other_order).is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn parsed_or_invalid<T: std::fmt::Debug>(
        result: Result<T, Error>,
    ) -> Result<(), TestCaseError> {
        match result {
            Ok(_) | Err(Error::InvalidArgument(_)) => Ok(()),
            Err(other) => Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }

    proptest! {
        #[test]
        fn order_by_parses_or_is_invalid(raw in "\\PC{0,80}|(create_time|title|due_time)( +(asc|DESC|x))?") {
            parsed_or_invalid(OrderBy::parse(&raw))?;
        }

        #[test]
        fn any_list_request_parses_or_is_invalid(
            query in "\\PC{0,250}|.{0,10}\\x00.{0,10}",
            tags in proptest::collection::vec(".{0,40}", 0..25),
            order_by in ".{0,40}",
            page_token in ".{0,100}",
            page_size in any::<i32>(),
            priority in any::<i32>(),
        ) {
            let key = PageTokenKey::from_hex(&PageTokenKey::generate()).unwrap();
            let request = ListTasksRequest {
                query, tags, order_by, page_token, page_size, priority,
                ..ListTasksRequest::default()
            };
            parsed_or_invalid(ListQuery::parse(request, &key))?;
        }
    }
}
