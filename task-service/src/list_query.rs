//! ListTasks' request, parsed: filters, the order, the page size and the
//! opaque keyset page token, which is bound to the query that made it.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    error::Error,
    task::{Priority, Tags},
};

const DEFAULT_PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 100;

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
        let words: Vec<&str> = raw.split_whitespace().collect();
        let invalid = || {
            Error::invalid("order_by", format!(
                "{raw:?} is not supported; use one of create_time, update_time, due_time, \
                 priority, title, followed by asc or desc"
            ))
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

/// Which tasks a list shows.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Filter {
    /// Lower-cased text to find in the title or description.
    pub query: Option<String>,
    pub completed: Option<bool>,
    #[serde(serialize_with = "tags_as_list")]
    pub tags: Tags,
    #[serde(serialize_with = "priority_as_number")]
    pub priority: Option<Priority>,
}

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
pub fn page_size(raw: i32) -> Result<i64, Error> {
    match i64::from(raw) {
        0 => Ok(DEFAULT_PAGE_SIZE),
        size if size < 0 => Err(Error::invalid("page_size", "must not be negative")),
        size => Ok(size.min(MAX_PAGE_SIZE)),
    }
}

/// The sort value of the last task of a page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortKey {
    Number(i64),
    Text(String),
}

/// Where the next page starts: after the task with this sort value and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub key: SortKey,
    pub id: String,
}

#[derive(Serialize, Deserialize)]
struct TokenBody {
    /// The sort value of the last task returned.
    k: SortKey,
    /// The id of the last task returned.
    i: String,
    /// A fingerprint of the filters and order the token belongs to.
    q: String,
}

/// A fingerprint of a list query, so a token reused with other filters is refused.
fn fingerprint(filter: &Filter, order: &OrderBy) -> String {
    let canonical = serde_json::to_vec(&(filter, order)).unwrap_or_default();
    hex::encode(&Sha256::digest(canonical)[..8])
}

/// Encodes the token that continues after `cursor`.
pub fn encode_page_token(cursor: Cursor, filter: &Filter, order: &OrderBy) -> String {
    let body = TokenBody {
        k: cursor.key,
        i: cursor.id,
        q: fingerprint(filter, order),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap_or_default())
}

/// Decodes a page token; garbled, or made for another query: INVALID_ARGUMENT.
pub fn decode_page_token(
    token: &str,
    filter: &Filter,
    order: &OrderBy,
) -> Result<Option<Cursor>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    let garbled =
        || Error::invalid("page_token", "is not a token this service issued; start again without it");
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| garbled())?;
    let body: TokenBody = serde_json::from_slice(&bytes).map_err(|_| garbled())?;
    if body.q != fingerprint(filter, order) {
        return Err(Error::invalid(
            "page_token", "belongs to a list with other filters or order; keep them the same or start again without a token",
        ));
    }
    let key_fits = matches!(
        (&body.k, order.field),
        (SortKey::Text(_), SortField::Title)
            | (
                SortKey::Number(_),
                SortField::CreateTime
                    | SortField::UpdateTime
                    | SortField::DueTime
                    | SortField::Priority
            )
    );
    if !key_fits {
        return Err(garbled());
    }
    Ok(Some(Cursor {
        key: body.k,
        id: body.i,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn tokens_round_trip_and_are_bound_to_their_query() {
        let order = OrderBy::parse("").unwrap();
        let filter = Filter::default();
        let cursor = Cursor {
            key: SortKey::Number(42),
            id: "x".into(),
        };
        let token = encode_page_token(cursor.clone(), &filter, &order);
        assert_eq!(
            decode_page_token(&token, &filter, &order).unwrap(),
            Some(cursor)
        );
        let other = Filter {
            completed: Some(true),
            ..Filter::default()
        };
        assert!(decode_page_token(&token, &other, &order).is_err());
        assert!(decode_page_token("garbage!", &filter, &order).is_err());
        assert!(decode_page_token(&token, &filter, &OrderBy::parse("title").unwrap()).is_err());
    }
}
