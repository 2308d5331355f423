//! Checks the operations this client sends against a live POS schema (pos-api.md §7:
//! pinned names may differ on a real server): the pinned SDL and the operation documents the
//! client is generated from, and the diff. `lane-agent doctor` runs it against the server.
//!
//! Both sides are reduced to one small model, [`SchemaModel`]: the live schema comes from
//! an introspection answer, the agent's expectations from the pinned SDL the client is
//! generated from (`pos-client/schema/pos-schema.graphql`). Every operation document in
//! `pos-client/graphql/` is then walked: each root field, argument, variable type, input
//! field the agent may send, enum value it may send, and each selected field with its type
//! must exist on the live side with a compatible type. Mismatches are named precisely,
//! e.g. `Mutation.giftcardTransCapture: argument trans type GiftcardTransCaptureInput has
//! no field cancel`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use graphql_parser::query::{
    Definition, Document, OperationDefinition, Selection, SelectionSet, Value,
};
use graphql_parser::schema::{self as sdl, TypeDefinition};
use serde_json::Value as Json;

/// The pinned schema the client is generated from.
pub const PINNED_SDL: &str = include_str!("../schema/pos-schema.graphql");

/// Every operation document this client sends (the terminal payments apart), by file name.
pub const OPERATIONS: &[(&str, &str)] = &[
    (
        "customer.graphql",
        include_str!("../graphql/customer.graphql"),
    ),
    (
        "environment.graphql",
        include_str!("../graphql/environment.graphql"),
    ),
    (
        "giftcard.graphql",
        include_str!("../graphql/giftcard.graphql"),
    ),
    (
        "giftcard_add.graphql",
        include_str!("../graphql/giftcard_add.graphql"),
    ),
    (
        "giftcard_edit.graphql",
        include_str!("../graphql/giftcard_edit.graphql"),
    ),
    (
        "giftcard_trans_add.graphql",
        include_str!("../graphql/giftcard_trans_add.graphql"),
    ),
    (
        "giftcard_trans_capture.graphql",
        include_str!("../graphql/giftcard_trans_capture.graphql"),
    ),
    ("item.graphql", include_str!("../graphql/item.graphql")),
    (
        "item_serial_lot.graphql",
        include_str!("../graphql/item_serial_lot.graphql"),
    ),
    (
        "item_warehouse.graphql",
        include_str!("../graphql/item_warehouse.graphql"),
    ),
    (
        "location.graphql",
        include_str!("../graphql/location.graphql"),
    ),
    (
        "product.graphql",
        include_str!("../graphql/product.graphql"),
    ),
    (
        "product_banner.graphql",
        include_str!("../graphql/product_banner.graphql"),
    ),
    (
        "product_group.graphql",
        include_str!("../graphql/product_group.graphql"),
    ),
    (
        "product_notice.graphql",
        include_str!("../graphql/product_notice.graphql"),
    ),
    (
        "product_section.graphql",
        include_str!("../graphql/product_section.graphql"),
    ),
    (
        "product_sort_option.graphql",
        include_str!("../graphql/product_sort_option.graphql"),
    ),
    (
        "purchase_add.graphql",
        include_str!("../graphql/purchase_add.graphql"),
    ),
    ("sale.graphql", include_str!("../graphql/sale.graphql")),
];

/// The terminal-payment documents (lanes whose card terminal the POS drives), by file name.
pub const TERMINAL_OPERATIONS: &[(&str, &str)] = &[
    (
        "terminal_payment_start.graphql",
        include_str!("../graphql/terminal_payment_start.graphql"),
    ),
    (
        "terminal_payment_continue.graphql",
        include_str!("../graphql/terminal_payment_continue.graphql"),
    ),
    (
        "terminal_payment_capture.graphql",
        include_str!("../graphql/terminal_payment_capture.graphql"),
    ),
    (
        "terminal_payment_void.graphql",
        include_str!("../graphql/terminal_payment_void.graphql"),
    ),
    (
        "terminal_payments.graphql",
        include_str!("../graphql/terminal_payments.graphql"),
    ),
];

/// The link probe's document (`environment`), also the doctor's first call.
pub const ENVIRONMENT_DOC: &str = include_str!("../graphql/environment.graphql");
/// The `location` lookup's document.
pub const LOCATION_DOC: &str = include_str!("../graphql/location.graphql");

/// The standard introspection query (types, fields, arguments, input fields, enum values).
pub const INTROSPECTION_QUERY: &str = r"query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    types {
      kind name
      fields(includeDeprecated: true) { name args { name defaultValue type { ...TypeRef } } type { ...TypeRef } }
      inputFields { name defaultValue type { ...TypeRef } }
      enumValues(includeDeprecated: true) { name }
    }
  }
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } }
}";

/// A type reference: `String`, `[Item!]`, `Decimal!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    /// A named type.
    Named(String),
    /// A list.
    List(Box<TypeRef>),
    /// Non-null.
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    fn from_ast(t: &sdl::Type<'_, String>) -> Self {
        match t {
            sdl::Type::NamedType(n) => Self::Named(n.clone()),
            sdl::Type::ListType(i) => Self::List(Box::new(Self::from_ast(i))),
            sdl::Type::NonNullType(i) => Self::NonNull(Box::new(Self::from_ast(i))),
        }
    }

    fn from_json(v: &Json) -> Result<Self, String> {
        let kind = v.get("kind").and_then(Json::as_str).unwrap_or_default();
        let inner = || {
            v.get("ofType")
                .filter(|o| !o.is_null())
                .ok_or_else(|| format!("{kind} type reference without ofType"))
                .and_then(Self::from_json)
        };
        match kind {
            "NON_NULL" => Ok(Self::NonNull(Box::new(inner()?))),
            "LIST" => Ok(Self::List(Box::new(inner()?))),
            _ => v
                .get("name")
                .and_then(Json::as_str)
                .map(|n| Self::Named(n.to_owned()))
                .ok_or_else(|| "named type reference without a name".to_owned()),
        }
    }

    /// The innermost named type.
    pub fn base(&self) -> &str {
        match self {
            Self::Named(n) => n,
            Self::List(i) | Self::NonNull(i) => i.base(),
        }
    }

    fn is_non_null(&self) -> bool {
        matches!(self, Self::NonNull(_))
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Named(n) => f.write_str(n),
            Self::List(i) => write!(f, "[{i}]"),
            Self::NonNull(i) => write!(f, "{i}!"),
        }
    }
}

/// An argument or input field.
#[derive(Debug, Clone)]
pub struct InputValue {
    /// Its type.
    pub ty: TypeRef,
    /// Whether it has a default value.
    pub has_default: bool,
}

/// An output field.
#[derive(Debug, Clone)]
pub struct Field {
    /// Arguments by name.
    pub args: BTreeMap<String, InputValue>,
    /// Its type.
    pub ty: TypeRef,
}

/// One named type.
#[derive(Debug, Clone, Default)]
pub struct TypeDef {
    /// Fields (objects and interfaces).
    pub fields: BTreeMap<String, Field>,
    /// Input fields (input objects).
    pub input_fields: BTreeMap<String, InputValue>,
    /// Values (enums).
    pub enum_values: BTreeSet<String>,
}

/// A schema reduced to what the comparison needs.
#[derive(Debug, Clone)]
pub struct SchemaModel {
    /// Name of the query root type.
    pub query: String,
    /// Name of the mutation root type, if any.
    pub mutation: Option<String>,
    /// Types by name.
    pub types: HashMap<String, TypeDef>,
}

impl SchemaModel {
    /// The model of an introspection answer: either the whole GraphQL response
    /// (`{"data": {"__schema": …}}`), its `data`, or the `__schema` object itself.
    ///
    /// # Errors
    /// A description of what is missing or malformed.
    pub fn from_introspection(json: &Json) -> Result<Self, String> {
        let schema = json
            .pointer("/data/__schema")
            .or_else(|| json.get("__schema"))
            .unwrap_or(json);
        let root = |key: &str| {
            schema
                .get(key)
                .and_then(|t| t.get("name"))
                .and_then(Json::as_str)
                .map(str::to_owned)
        };
        let query = root("queryType").ok_or("introspection has no queryType")?;
        let mutation = root("mutationType");
        let list = |v: &Json, key: &str| {
            v.get(key)
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let input_values = |v: &Json, key: &str| -> Result<BTreeMap<String, InputValue>, String> {
            list(v, key)
                .iter()
                .map(|iv| {
                    let name = iv
                        .get("name")
                        .and_then(Json::as_str)
                        .ok_or("input value without a name")?;
                    let ty = TypeRef::from_json(iv.get("type").unwrap_or(&Json::Null))?;
                    let has_default = iv.get("defaultValue").is_some_and(|d| !d.is_null());
                    Ok((name.to_owned(), InputValue { ty, has_default }))
                })
                .collect()
        };
        let mut types = HashMap::new();
        for t in list(schema, "types") {
            let Some(name) = t.get("name").and_then(Json::as_str) else {
                continue;
            };
            let mut def = TypeDef::default();
            for f in list(&t, "fields") {
                let fname = f
                    .get("name")
                    .and_then(Json::as_str)
                    .ok_or("field without a name")?;
                let ty = TypeRef::from_json(f.get("type").unwrap_or(&Json::Null))?;
                let args = input_values(&f, "args")?;
                def.fields.insert(fname.to_owned(), Field { args, ty });
            }
            def.input_fields = input_values(&t, "inputFields")?;
            def.enum_values = list(&t, "enumValues")
                .iter()
                .filter_map(|e| e.get("name").and_then(Json::as_str).map(str::to_owned))
                .collect();
            types.insert(name.to_owned(), def);
        }
        Ok(Self {
            query,
            mutation,
            types,
        })
    }

    /// The model of an SDL document (the pinned schema, or a test's variant of it).
    ///
    /// # Errors
    /// The parse error.
    pub fn from_sdl(text: &str) -> Result<Self, String> {
        let doc = sdl::parse_schema::<String>(text).map_err(|e| e.to_string())?;
        let mut query = "Query".to_owned();
        let mut mutation = None;
        let mut types = HashMap::new();
        let input_values = |ivs: &[sdl::InputValue<'_, String>]| {
            ivs.iter()
                .map(|iv| {
                    let v = InputValue {
                        ty: TypeRef::from_ast(&iv.value_type),
                        has_default: iv.default_value.is_some(),
                    };
                    (iv.name.clone(), v)
                })
                .collect::<BTreeMap<_, _>>()
        };
        let fields = |fs: &[sdl::Field<'_, String>]| {
            fs.iter()
                .map(|f| {
                    let field = Field {
                        args: input_values(&f.arguments),
                        ty: TypeRef::from_ast(&f.field_type),
                    };
                    (f.name.clone(), field)
                })
                .collect::<BTreeMap<_, _>>()
        };
        let mut saw_mutation_type = false;
        for def in &doc.definitions {
            match def {
                sdl::Definition::SchemaDefinition(s) => {
                    if let Some(q) = &s.query {
                        query.clone_from(q);
                    }
                    mutation.clone_from(&s.mutation);
                }
                sdl::Definition::TypeDefinition(t) => {
                    let (name, def) = match t {
                        TypeDefinition::Object(o) => (
                            &o.name,
                            TypeDef {
                                fields: fields(&o.fields),
                                ..TypeDef::default()
                            },
                        ),
                        TypeDefinition::Interface(o) => (
                            &o.name,
                            TypeDef {
                                fields: fields(&o.fields),
                                ..TypeDef::default()
                            },
                        ),
                        TypeDefinition::InputObject(o) => (
                            &o.name,
                            TypeDef {
                                input_fields: input_values(&o.fields),
                                ..TypeDef::default()
                            },
                        ),
                        TypeDefinition::Enum(e) => (
                            &e.name,
                            TypeDef {
                                enum_values: e.values.iter().map(|v| v.name.clone()).collect(),
                                ..TypeDef::default()
                            },
                        ),
                        TypeDefinition::Scalar(s) => (&s.name, TypeDef::default()),
                        TypeDefinition::Union(u) => (&u.name, TypeDef::default()),
                    };
                    saw_mutation_type |= name == "Mutation";
                    types.insert(name.clone(), def);
                }
                _ => {}
            }
        }
        if mutation.is_none() && saw_mutation_type {
            mutation = Some("Mutation".to_owned());
        }
        Ok(Self {
            query,
            mutation,
            types,
        })
    }

    fn is_builtin_scalar(name: &str) -> bool {
        matches!(name, "String" | "Int" | "Float" | "Boolean" | "ID")
    }

    fn has_type(&self, name: &str) -> bool {
        Self::is_builtin_scalar(name) || self.types.contains_key(name)
    }
}

/// Checks the agent's operations ([`OPERATIONS`]) against an introspection answer, with
/// the pinned schema ([`PINNED_SDL`]) as the agent's side. Returns the mismatches.
///
/// # Errors
/// The introspection answer (or the pinned SDL) cannot be read.
pub fn check_introspection(json: &Json) -> Result<Vec<String>, String> {
    let live = SchemaModel::from_introspection(json)?;
    let pinned = SchemaModel::from_sdl(PINNED_SDL)?;
    Ok(check_operations(&live, &pinned, OPERATIONS))
}

/// Checks every document in `operations` against `live`, with `pinned` telling which
/// input fields and enum values the agent may send. Returns one message per mismatch;
/// empty means compatible.
pub fn check_operations(
    live: &SchemaModel,
    pinned: &SchemaModel,
    operations: &[(&str, &str)],
) -> Vec<String> {
    let mut out = Vec::new();
    for (file, text) in operations {
        let doc: Document<'_, String> = match graphql_parser::parse_query(text) {
            Ok(d) => d,
            Err(e) => {
                out.push(format!("{file}: cannot parse: {e}"));
                continue;
            }
        };
        let fragments: HashMap<&str, _> = doc
            .definitions
            .iter()
            .filter_map(|d| match d {
                Definition::Fragment(f) => Some((f.name.as_str(), f)),
                Definition::Operation(_) => None,
            })
            .collect();
        let no_vars = Vec::new();
        for def in &doc.definitions {
            let Definition::Operation(op) = def else {
                continue;
            };
            let (root, vars, set) = match op {
                OperationDefinition::Query(q) => (
                    Some(live.query.clone()),
                    &q.variable_definitions,
                    &q.selection_set,
                ),
                OperationDefinition::Mutation(m) => (
                    live.mutation.clone(),
                    &m.variable_definitions,
                    &m.selection_set,
                ),
                OperationDefinition::SelectionSet(s) => (Some(live.query.clone()), &no_vars, s),
                OperationDefinition::Subscription(_) => {
                    out.push(format!("{file}: subscriptions are not used by the agent"));
                    continue;
                }
            };
            let Some(root) = root else {
                out.push(format!("{file}: the live schema has no mutation type"));
                continue;
            };
            let vars: HashMap<&str, TypeRef> = vars
                .iter()
                .map(|v| (v.name.as_str(), TypeRef::from_ast(&v.var_type)))
                .collect();
            let mut walker = Walker {
                live,
                pinned,
                vars: &vars,
                fragments: &fragments,
                out: &mut out,
                checked_inputs: BTreeSet::new(),
            };
            walker.selection_set(&root, &root, set);
        }
    }
    // The same type is reached from several operations; name each mismatch once.
    let mut seen = BTreeSet::new();
    out.retain(|m| seen.insert(m.clone()));
    out
}

struct Walker<'a, 'd> {
    live: &'a SchemaModel,
    pinned: &'a SchemaModel,
    vars: &'a HashMap<&'d str, TypeRef>,
    fragments: &'a HashMap<&'d str, &'d graphql_parser::query::FragmentDefinition<'d, String>>,
    out: &'a mut Vec<String>,
    checked_inputs: BTreeSet<String>,
}

impl Walker<'_, '_> {
    /// `live_type` is the type on the live side; `pinned_type` the agent's idea of it
    /// (the same name unless the live field returns a different type).
    fn selection_set(
        &mut self,
        live_type: &str,
        pinned_type: &str,
        set: &SelectionSet<'_, String>,
    ) {
        let Some(def) = self.live.types.get(live_type) else {
            self.out.push(format!("type {live_type} is missing"));
            return;
        };
        for sel in &set.items {
            match sel {
                Selection::Field(f) => {
                    if f.name.starts_with("__") {
                        continue;
                    }
                    let here = format!("{live_type}.{}", f.name);
                    let Some(field) = def.fields.get(&f.name) else {
                        self.out.push(format!("{here}: no such field"));
                        continue;
                    };
                    let pinned_field = self
                        .pinned
                        .types
                        .get(pinned_type)
                        .and_then(|t| t.fields.get(&f.name));
                    self.arguments(&here, field, &f.arguments);
                    if let Some(pf) = pinned_field
                        && !output_compatible(&field.ty, &pf.ty)
                    {
                        self.out.push(format!(
                            "{here}: type {} where the agent expects {}",
                            field.ty, pf.ty
                        ));
                        continue;
                    }
                    if let Some(pf) = pinned_field {
                        self.enum_values(&here, pf.ty.base());
                    }
                    if !f.selection_set.items.is_empty() {
                        let pinned_base = pinned_field.map_or(field.ty.base(), |pf| pf.ty.base());
                        let (lb, pb) = (field.ty.base().to_owned(), pinned_base.to_owned());
                        self.selection_set(&lb, &pb, &f.selection_set);
                    }
                }
                Selection::FragmentSpread(s) => {
                    if let Some(frag) = self.fragments.get(s.fragment_name.as_str()) {
                        let set = &frag.selection_set;
                        self.selection_set(live_type, pinned_type, set);
                    }
                }
                Selection::InlineFragment(i) => {
                    let on = match &i.type_condition {
                        Some(graphql_parser::query::TypeCondition::On(t)) => t.clone(),
                        None => live_type.to_owned(),
                    };
                    self.selection_set(&on, &on, &i.selection_set);
                }
            }
        }
    }

    /// The agent's enum values (statuses, code types) must all exist on the live side.
    fn enum_values(&mut self, at: &str, ty: &str) {
        let Some(pinned) = self.pinned.types.get(ty) else {
            return;
        };
        if pinned.enum_values.is_empty() || !self.checked_inputs.insert(format!("enum|{ty}")) {
            return;
        }
        let live = self.live.types.get(ty);
        for value in &pinned.enum_values {
            if !live.is_some_and(|l| l.enum_values.contains(value)) {
                self.out
                    .push(format!("{at}: enum {ty} has no value {value}"));
            }
        }
    }

    fn arguments(&mut self, here: &str, field: &Field, given: &[(String, Value<'_, String>)]) {
        for (name, value) in given {
            let Some(arg) = field.args.get(name) else {
                self.out.push(format!("{here}: no argument {name}"));
                continue;
            };
            let at = format!("{here}: argument {name}");
            match value {
                Value::Variable(v) => {
                    let Some(var_ty) = self.vars.get(v.as_str()) else {
                        self.out.push(format!("{at}: undeclared variable ${v}"));
                        continue;
                    };
                    if !input_compatible(var_ty, &arg.ty, arg.has_default) {
                        self.out.push(format!(
                            "{at} has type {} but the agent sends {var_ty}",
                            arg.ty
                        ));
                        continue;
                    }
                    self.input_type(&at, var_ty.base());
                }
                Value::Enum(e) => {
                    let known = self
                        .live
                        .types
                        .get(arg.ty.base())
                        .is_some_and(|t| t.enum_values.contains(e));
                    if !known {
                        self.out
                            .push(format!("{at}: type {} has no value {e}", arg.ty.base()));
                    }
                }
                _ => {}
            }
        }
        for (name, arg) in &field.args {
            if arg.ty.is_non_null() && !arg.has_default && !given.iter().any(|(n, _)| n == name) {
                self.out.push(format!(
                    "{here}: required argument {name}: {} is not sent",
                    arg.ty
                ));
            }
        }
    }

    /// Everything the agent may send as a value of `ty` (per the pinned schema) must be
    /// accepted by the live type, and the live type must not require more.
    fn input_type(&mut self, at: &str, ty: &str) {
        if SchemaModel::is_builtin_scalar(ty) {
            return;
        }
        if !self.checked_inputs.insert(format!("{at}|{ty}")) {
            return;
        }
        let Some(live) = self.live.types.get(ty) else {
            if !self.live.has_type(ty) {
                self.out.push(format!("{at}: type {ty} is missing"));
            }
            return;
        };
        let Some(pinned) = self.pinned.types.get(ty) else {
            return;
        };
        let live = live.clone();
        for value in &pinned.enum_values {
            if !live.enum_values.contains(value) {
                self.out
                    .push(format!("{at} type {ty} has no value {value}"));
            }
        }
        for (name, pf) in &pinned.input_fields {
            let Some(lf) = live.input_fields.get(name) else {
                self.out.push(format!("{at} type {ty} has no field {name}"));
                continue;
            };
            if !input_compatible(&pf.ty, &lf.ty, lf.has_default) {
                self.out.push(format!(
                    "{at} type {ty} field {name} has type {} but the agent sends {}",
                    lf.ty, pf.ty
                ));
                continue;
            }
            self.input_type(at, pf.ty.base());
        }
        for (name, lf) in &live.input_fields {
            if lf.ty.is_non_null() && !lf.has_default && !pinned.input_fields.contains_key(name) {
                self.out.push(format!(
                    "{at} type {ty} requires field {name}: {} the agent does not send",
                    lf.ty
                ));
            }
        }
    }
}

/// Whether a value of type `sent` may be passed where `expected` is declared.
fn input_compatible(sent: &TypeRef, expected: &TypeRef, has_default: bool) -> bool {
    match (sent, expected) {
        (TypeRef::NonNull(s), TypeRef::NonNull(e)) => input_compatible(s, e, false),
        (TypeRef::NonNull(s), e) => input_compatible(s, e, false),
        (s, TypeRef::NonNull(e)) => has_default && input_compatible(s, e, false),
        (TypeRef::List(s), TypeRef::List(e)) => input_compatible(s, e, false),
        (TypeRef::Named(s), TypeRef::Named(e)) => s == e,
        _ => false,
    }
}

/// Whether a live field of type `live` can be read where the agent expects `expected`:
/// the same named type, and non-null wherever the agent needs non-null.
fn output_compatible(live: &TypeRef, expected: &TypeRef) -> bool {
    match (live, expected) {
        (TypeRef::NonNull(l), TypeRef::NonNull(e)) => output_compatible(l, e),
        (TypeRef::NonNull(l), e) => output_compatible(l, e),
        (_, TypeRef::NonNull(_)) => false,
        (TypeRef::List(l), TypeRef::List(e)) => output_compatible(l, e),
        (TypeRef::Named(l), TypeRef::Named(e)) => l == e,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned() -> SchemaModel {
        SchemaModel::from_sdl(PINNED_SDL).unwrap()
    }

    #[test]
    fn the_pinned_schema_accepts_every_operation() {
        let p = pinned();
        assert_eq!(check_operations(&p, &p, OPERATIONS), Vec::<String>::new());
    }

    #[test]
    fn a_missing_input_field_is_named() {
        let changed = PINNED_SDL.replacen(
            "  \"true cancels the authorization (a reserved debit is returned to the card).\"\n  cancel: Boolean\n",
            "",
            1,
        );
        assert_ne!(changed, PINNED_SDL);
        let live = SchemaModel::from_sdl(&changed).unwrap();
        let found = check_operations(&live, &pinned(), OPERATIONS);
        assert_eq!(
            found,
            vec![
                "Mutation.giftcardTransCapture: argument trans type GiftcardTransCaptureInput \
                 has no field cancel"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn a_respelled_status_is_named() {
        let changed = PINNED_SDL.replacen(
            "enum GiftcardTransStatus { AUTHORIZED",
            "enum GiftcardTransStatus { Authorized",
            1,
        );
        assert_ne!(changed, PINNED_SDL);
        let live = SchemaModel::from_sdl(&changed).unwrap();
        let found = check_operations(&live, &pinned(), OPERATIONS);
        assert_eq!(
            found,
            vec![
                "GiftcardTrans.status: enum GiftcardTransStatus has no value AUTHORIZED".to_owned()
            ]
        );
    }

    #[test]
    fn type_compatibility_rules() {
        let n = |s: &str| TypeRef::Named(s.into());
        let nn = |t: TypeRef| TypeRef::NonNull(Box::new(t));
        assert!(input_compatible(&nn(n("String")), &n("String"), false));
        assert!(!input_compatible(&n("String"), &nn(n("String")), false));
        assert!(input_compatible(&n("String"), &nn(n("String")), true));
        assert!(!input_compatible(&n("Int"), &n("String"), false));
        assert!(output_compatible(&nn(n("Decimal")), &n("Decimal")));
        assert!(!output_compatible(&n("Decimal"), &nn(n("Decimal"))));
        assert!(!output_compatible(&n("Float"), &n("Decimal")));
        assert_eq!(
            nn(TypeRef::List(Box::new(nn(n("Item"))))).to_string(),
            "[Item!]!"
        );
    }
}
