"""Paystack's transaction and refund objects as its API answers them (field for field, with
Paystack's fixed test-card authorization and integration id)."""

from __future__ import annotations

from typing import Any


def transaction_json(txn: dict[str, Any]) -> dict[str, Any]:
    paid = txn["status"] in ("success", "reversed")
    return {
        "id": txn["id"],
        "domain": txn["domain"],
        "status": txn["status"],
        "reference": txn["reference"],
        "receipt_number": None,
        "amount": txn["amount"],
        "message": None,
        "gateway_response": txn["gateway_response"],
        "paid_at": txn["paid_at"],
        "created_at": txn["created_at"],
        "channel": "card",
        "currency": txn["currency"],
        "ip_address": "127.0.0.1",
        "metadata": txn["metadata"] or "",
        "log": None,
        "fees": txn["fees"],
        "fees_split": None,
        "authorization": {
            "authorization_code": f"AUTH_{txn['access_code'][:10]}",
            "bin": "408408",
            "last4": "4081",
            "exp_month": "12",
            "exp_year": "2030",
            "channel": "card",
            "card_type": "visa ",
            "bank": "TEST BANK",
            "country_code": "NG",
            "brand": "visa",
            "reusable": True,
            "signature": f"SIG_{txn['access_code'][:12]}",
            "account_name": None,
        }
        if paid
        else {},
        "customer": txn["customer"],
        "plan": None,
        "split": {},
        "order_id": None,
        "paidAt": txn["paid_at"],
        "createdAt": txn["created_at"],
        "requested_amount": txn["amount"],
        "pos_transaction_data": None,
        "source": None,
        "fees_breakdown": None,
        "connect": None,
        "transaction_date": txn["created_at"],
        "plan_object": {},
        "subaccount": {},
    }


def refund_json(refund: dict[str, Any], txn: dict[str, Any]) -> dict[str, Any]:
    customer = txn["customer"]
    return {
        "integration": 412829,
        "transaction": txn["id"],
        "dispute": None,
        "settlement": None,
        "id": refund["id"],
        "domain": txn["domain"],
        "currency": refund["currency"],
        "amount": refund["amount"],
        "status": refund["status"],
        "refunded_at": refund["refunded_at"],
        "refunded_by": customer["email"],
        "customer_note": refund["customer_note"],
        "merchant_note": refund["merchant_note"],
        "deducted_amount": refund["amount"],
        "fully_deducted": 1,
        "createdAt": refund["created_at"],
        "bank_reference": None,
        "transaction_reference": txn["reference"],
        "reason": refund["merchant_note"],
        "customer": {
            **{k: customer[k] or "" for k in ("first_name", "last_name", "phone")},
            "id": customer["id"],
            "email": customer["email"],
            "customer_code": customer["customer_code"],
            "metadata": "",
            "risk_action": customer["risk_action"],
            "international_format_phone": "",
        },
        "refund_type": "full" if refund["amount"] == txn["amount"] else "partial",
        "transaction_amount": txn["amount"],
        "initiated_by": "api",
        "refund_channel": "card",
        "session_id": None,
        "collect_account_number": False,
    }
