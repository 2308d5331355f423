//! Generated response/input types ⇄ the public domain types.

use secrecy::ExposeSecret;

use crate::classify::OpMeta;
use crate::error::PosError;
use crate::ops;
use crate::secret::GiftCode;
use crate::types::*;

pub(crate) fn null_field(op: &OpMeta) -> PosError {
    PosError::OutcomeUnknown {
        operation: op.name,
        mutation: op.mutation,
        reason: format!("data.{} is null", op.field),
    }
}

fn bad(op: &OpMeta, reason: String) -> PosError {
    PosError::BadResponse {
        operation: op.name,
        mutation: op.mutation,
        reason,
    }
}

/// Code-type and status enums are generated once per operation module; one macro maps them.
macro_rules! code_type_out {
    ($fn:ident, $m:ident) => {
        pub(crate) fn $fn(t: ops::$m::GiftcardCodeType) -> CodeType {
            use ops::$m::GiftcardCodeType as G;
            match t {
                G::PHYSICAL => CodeType::Physical,
                G::PERSONAL => CodeType::Personal,
                G::EXTERNAL => CodeType::External,
                G::Other(s) => CodeType::Other(s),
            }
        }
    };
}
code_type_out!(code_type_out_q, giftcard);
code_type_out!(code_type_out_add, giftcard_add);
code_type_out!(code_type_out_edit, giftcard_edit);

macro_rules! code_type_in {
    ($fn:ident, $m:ident) => {
        pub(crate) fn $fn(t: CodeType) -> ops::$m::GiftcardCodeType {
            use ops::$m::GiftcardCodeType as G;
            match t {
                CodeType::Physical => G::PHYSICAL,
                CodeType::Personal => G::PERSONAL,
                CodeType::External => G::EXTERNAL,
                CodeType::Other(s) => G::Other(s),
            }
        }
    };
}
code_type_in!(code_type_in_q, giftcard);
code_type_in!(code_type_in_trans, giftcard_trans_add);

macro_rules! status_out {
    ($fn:ident, $m:ident) => {
        fn $fn(s: ops::$m::GiftcardTransStatus, op: &OpMeta) -> Result<TransStatus, PosError> {
            use ops::$m::GiftcardTransStatus as S;
            match s {
                S::AUTHORIZED => Ok(TransStatus::Authorized),
                S::CANCELLED => Ok(TransStatus::Cancelled),
                S::COMPLETED => Ok(TransStatus::Completed),
                // Money state we cannot name is not a success.
                S::Other(x) => Err(bad(op, format!("unknown transaction status {x:?}"))),
            }
        }
    };
}
status_out!(status_add, giftcard_trans_add);
status_out!(status_capture, giftcard_trans_capture);

macro_rules! giftcard_out {
    ($fn:ident, $ty:path, $codes:ident, $ct:ident) => {
        pub(crate) fn $fn(g: $ty, op: &OpMeta) -> Result<Giftcard, PosError> {
            let _ = op;
            Ok(Giftcard {
                id: g.id,
                member_id: g.member_id,
                balance: g.balance.0,
                codes: g
                    .codes
                    .into_iter()
                    .map(|c| GiftcardCode {
                        id: c.id,
                        code_type: $ct(c.code_type),
                        code: GiftCode::new(c.code),
                        expires_on: c.expires_on,
                        is_masked: c.is_masked,
                    })
                    .collect(),
            })
        }
    };
}
giftcard_out!(
    giftcard_q,
    ops::giftcard::GiftcardGiftcardResults,
    codes,
    code_type_out_q
);
giftcard_out!(
    giftcard_add,
    ops::giftcard_add::GiftcardAddGiftcardAdd,
    codes,
    code_type_out_add
);
giftcard_out!(
    giftcard_edit,
    ops::giftcard_edit::GiftcardEditGiftcardEdit,
    codes,
    code_type_out_edit
);

pub(crate) fn trans_add(
    t: ops::giftcard_trans_add::GiftcardTransAddGiftcardTransAdd,
    op: &OpMeta,
) -> Result<GiftcardTrans, PosError> {
    Ok(GiftcardTrans {
        id: t.id,
        giftcard_id: t.giftcard_id,
        balance: t.balance.0,
        status: status_add(t.status, op)?,
        amount: t.amount.0,
    })
}

pub(crate) fn trans_capture(
    t: ops::giftcard_trans_capture::GiftcardTransCaptureGiftcardTransCapture,
    op: &OpMeta,
) -> Result<GiftcardTrans, PosError> {
    Ok(GiftcardTrans {
        id: t.id,
        giftcard_id: t.giftcard_id,
        balance: t.balance.0,
        status: status_capture(t.status, op)?,
        amount: t.amount.0,
    })
}

pub(crate) fn trans_add_input(
    t: &GiftcardTransRequest,
) -> ops::giftcard_trans_add::GiftcardTransAddInput {
    use ops::giftcard_trans_add::GiftcardTransType as T;
    ops::giftcard_trans_add::GiftcardTransAddInput {
        code_type: t.code_type.clone().map(code_type_in_trans),
        code: t.code.expose().to_owned(),
        pin: t.pin.as_ref().map(|p| p.expose_secret().to_owned()),
        trans_type: match t.trans_type {
            TransType::Add => T::ADD,
            TransType::Adjust => T::ADJUST,
            TransType::External => T::EXTERNAL,
            TransType::Import => T::IMPORT,
            TransType::Use => T::USE,
        },
        amount: t.amount.into(),
        source_id: t.source_id.clone(),
        ref_no: t.ref_no.clone(),
        authorize: Some(t.authorize),
    }
}

pub(crate) fn giftcard_add_input(r: &GiftcardAddRequest) -> ops::giftcard_add::GiftcardAddInput {
    ops::giftcard_add::GiftcardAddInput {
        physical_code: r.physical_code.as_ref().map(|c| c.expose().to_owned()),
        physical_pin: r
            .physical_pin
            .as_ref()
            .map(|p| p.expose_secret().to_owned()),
        add_personal_code: r.add_personal_code,
        member_id: r.member_id.clone(),
    }
}

pub(crate) fn giftcard_edit_input(
    r: &GiftcardEditRequest,
) -> ops::giftcard_edit::GiftcardEditInput {
    ops::giftcard_edit::GiftcardEditInput {
        id: r.id.clone(),
        member_id: r.member_id.clone(),
        add_personal_code: r.add_personal_code,
        revoke_physical_code: r.revoke_physical_code,
        revoke_personal_code: r.revoke_personal_code,
        physical_code: r.physical_code.as_ref().map(|c| c.expose().to_owned()),
        physical_pin: r
            .physical_pin
            .as_ref()
            .map(|p| p.expose_secret().to_owned()),
    }
}

pub(crate) fn purchase_input(p: &PurchaseRequest) -> ops::purchase_add::PurchaseAddInput {
    ops::purchase_add::PurchaseAddInput {
        transaction_id: p.transaction_id.clone(),
        store_code: p.store_code.clone(),
        purchased_on: p.purchased_on.clone(),
        pay_amount: p.pay_amount.into(),
        sale_discount_amount: p.sale_discount_amount.into(),
        item_discount_amount: p.item_discount_amount.into(),
        sub_total: p.sub_total.into(),
        refund_amount: p.refund_amount.into(),
        tax_amount: p.tax_amount.into(),
        line_items: p
            .line_items
            .iter()
            .map(|l| ops::purchase_add::PurchaseLineItemInput {
                line_number: l.line_number,
                sku: l.sku.clone(),
                is_refund: l.is_refund,
                unit_price: l.unit_price.into(),
                ext_price: l.ext_price.into(),
                item_discount_amount: l.item_discount_amount.into(),
                sale_discount_amount: l.sale_discount_amount.into(),
                quantity: l.quantity.into(),
                uom: l.uom.clone(),
            })
            .collect(),
        channel: p.channel.clone(),
        member_id: p.member_id.clone(),
        order_type: p.order_type.clone(),
        pay_method: p.pay_method.clone(),
        customer_id: p.customer_id.clone(),
        email: p.email.clone(),
    }
}

pub(crate) fn customer(c: ops::customer::CustomerCustomerResults) -> Customer {
    Customer {
        id: c.id,
        member_id: c.member_id,
        status: c.status,
        full_name: c.full_name,
        email: c.email,
        phone: c.phone.map(|p| Phone {
            raw: p.raw,
            normalized: p.normalized,
        }),
    }
}

pub(crate) fn item(i: ops::item::ItemItemResults) -> Item {
    Item {
        sku: i.sku,
        name: i.name,
        long_name: i.long_name,
        sale_uom: i.sale_uom,
        stock_uom: i.stock_uom,
        warehouses: i
            .warehouses
            .into_iter()
            .map(|w| ItemWarehouse {
                warehouse_code: w.warehouse_code,
                sku: w.sku,
                base_price: w.base_price.map(|d| d.0),
                quantity_available: w.quantity_available.map(|d| d.0),
            })
            .collect(),
    }
}

pub(crate) fn item_warehouse(
    w: ops::item_warehouse::ItemWarehouseItemWarehouseResults,
) -> ItemWarehouse {
    ItemWarehouse {
        warehouse_code: w.warehouse_code,
        sku: w.sku,
        base_price: w.base_price.map(|d| d.0),
        quantity_available: w.quantity_available.map(|d| d.0),
    }
}

pub(crate) fn item_serial_lot(
    s: ops::item_serial_lot::ItemSerialLotItemSerialLotResults,
) -> ItemSerialLot {
    ItemSerialLot {
        sku: s.sku,
        warehouse_code: s.warehouse_code,
        serial_lot_number: s.serial_lot_number,
        quantity_available: s.quantity_available.map(|d| d.0),
    }
}

pub(crate) fn location(l: ops::location::LocationLocationResults) -> Location {
    Location {
        code: l.code,
        name: l.name,
        email: l.email,
        phone: l.phone,
    }
}

pub(crate) fn product(p: ops::product::ProductProductResults) -> Product {
    Product {
        sku: p.sku,
        name: p.name,
        long_name: p.long_name,
        description: p.description,
        base_price: p.base_price.map(|d| d.0),
        group_codes: p.group_codes,
        notice_codes: p.notice_codes,
    }
}

pub(crate) fn product_banner(
    b: ops::product_banner::ProductBannerProductBannerResults,
) -> ProductBanner {
    ProductBanner {
        code: b.code,
        text: b.text,
        url: b.url,
    }
}

pub(crate) fn product_group(
    g: ops::product_group::ProductGroupProductGroupResults,
) -> ProductGroup {
    ProductGroup {
        code: g.code,
        name: g.name,
        display_order: g.display_order,
        banner_code: g.banner_code,
        section_codes: g.section_codes,
    }
}

pub(crate) fn product_notice(
    n: ops::product_notice::ProductNoticeProductNoticeResults,
) -> ProductNotice {
    ProductNotice {
        code: n.code,
        text: n.text,
    }
}

pub(crate) fn product_section(
    s: ops::product_section::ProductSectionProductSectionResults,
) -> ProductSection {
    ProductSection {
        code: s.code,
        name: s.name,
        display_order: s.display_order,
        banner_code: s.banner_code,
    }
}

pub(crate) fn sale(s: ops::sale::SaleSaleResults) -> Sale {
    Sale {
        id: s.id,
        register_code: s.register_code,
        tran_no: s.tran_no,
        customer_id: s.customer_id,
        sale_date: s.sale_date,
    }
}
