//! Errors of the simulated POS as GraphQL reports them (pos-api.md §3).

use async_graphql::ErrorExtensions;

/// A failed operation, mapped onto `errors[].extensions`.
///
/// Deliberately not `Display`: async-graphql converts every `Display` type into an error
/// without extensions, and `?` would silently pick that conversion over ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PosError {
    /// `VALIDATION` with `extensions.data.ValidationType` and `Property`.
    Validation {
        validation_type: &'static str,
        property: &'static str,
        message: String,
    },
    /// `NOT_AUTHORIZED`: the client lacks a permission.
    NotAuthorized(&'static str),
    /// `FUSION_ERROR`: unexpected server condition.
    Fusion(String),
}

impl PosError {
    pub(crate) fn validation(
        validation_type: &'static str,
        property: &'static str,
        message: impl Into<String>,
    ) -> PosError {
        PosError::Validation {
            validation_type,
            property,
            message: message.into(),
        }
    }

    /// The human-readable message.
    pub(crate) fn message(&self) -> String {
        match self {
            PosError::Validation { message, .. } => message.clone(),
            PosError::NotAuthorized(p) => format!("the client lacks permission {p}"),
            PosError::Fusion(m) => m.clone(),
        }
    }

    /// The `ValidationType`, for tests and logs.
    #[cfg(test)]
    pub(crate) fn validation_type(&self) -> Option<&'static str> {
        match self {
            PosError::Validation {
                validation_type, ..
            } => Some(validation_type),
            _ => None,
        }
    }
}

impl PosError {
    /// The GraphQL error with `extensions.code` (and `data` for VALIDATION).
    pub(crate) fn into_graphql(self) -> async_graphql::Error {
        let err = self;
        let message = err.message();
        match err {
            PosError::Validation {
                validation_type,
                property,
                ..
            } => async_graphql::Error::new(message).extend_with(|_, ext| {
                ext.set("code", "VALIDATION");
                let mut data = async_graphql::indexmap::IndexMap::new();
                data.insert(
                    async_graphql::Name::new("ValidationType"),
                    async_graphql::Value::from(validation_type),
                );
                data.insert(
                    async_graphql::Name::new("Property"),
                    async_graphql::Value::from(property),
                );
                ext.set("data", async_graphql::Value::Object(data));
            }),
            PosError::NotAuthorized(_) => async_graphql::Error::new(message)
                .extend_with(|_, ext| ext.set("code", "NOT_AUTHORIZED")),
            PosError::Fusion(_) => async_graphql::Error::new(message)
                .extend_with(|_, ext| ext.set("code", "FUSION_ERROR")),
        }
    }
}

impl From<PosError> for async_graphql::Error {
    fn from(err: PosError) -> Self {
        err.into_graphql()
    }
}
