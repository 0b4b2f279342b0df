"""Message templates: the fields they may use, the defaults a tenant file may override,
and rendering (unknown fields were refused when the tenant loaded)."""

from collections.abc import Mapping


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, fields: Mapping[str, object]) -> str:
    values = _Blank({k: "" if v is None else str(v) for k, v in fields.items()})
    return template.format_map(values).strip()


TEMPLATE_FIELDS = frozenset(
    {
        "brand",
        "case_id",
        "level",
        "level_title",
        "team",
        "team_title",
        "priority",
        "reason",
        "clock",
        "deadline",
        "customer_name",
        "details_url",
        "failed_channel",
        "chat_link",
        "rating_link",
        "rca_id",
        "reasons",
        "due",
        "owner",
    }
)

DEFAULT_TEMPLATES = {
    "escalation_ack": (
        "Thank you for your patience. We have passed your case {case_id} to our "
        "{level_title}, who will contact you shortly. - {brand}"
    ),
    "escalation_ack_repeat": (
        "Your request is already with our {level_title}; they will be in touch shortly. - {brand}"
    ),
    "notify_escalation": (
        "Case {case_id} ({priority}) escalated to {level_title} / {team_title}: {reason}. "
        "Please acknowledge."
    ),
    "ack_reminder": (
        "Reminder: case {case_id} ({priority}) is waiting for {level_title} to acknowledge."
    ),
    "sla_warning": "Case {case_id} ({priority}): {clock} SLA is due at {deadline}.",
    # To customers by SMS: each must fit the tenant's segment budget (checked at load).
    "sms_options": "Reply YES for a call back.",
    "sms_options_link": "Reply YES for a call back, or see {details_url}",
    "callback_ack": "Thanks, we will call you back on this number soon about case {case_id}. - {brand}",
    "channel_fallback": "We could not reach you by {failed_channel}, so we are writing here. - {brand}",
    "chat_offer": (
        "Let's continue in a chat, where we can see everything you sent: {chat_link} - {brand}"
    ),
    "chat_not_joined": "No problem, we will keep helping you here by text. - {brand}",
    "chat_quiet": "We have not heard from you in the chat, so we will continue here by text. - {brand}",
    # The chat bot (in the web chat only) and the note to staff when it hands over.
    "bot_footer": "Not what you needed? Type agent to talk to a person.",
    "bot_unsure": (
        "Sorry, I am not sure about that one. Could you put it another way? "
        "Or type agent to talk to a person."
    ),
    "bot_handover": (
        "I am passing you to a person at {brand}. They can see this whole conversation, "
        "so there is no need to repeat anything."
    ),
    "csat_ask": (
        "How did we do with your case {case_id}? Reply with a number from 1 (poor) to "
        "5 (great). - {brand}"
    ),
    "csat_ask_email": (
        "How did we do with your case {case_id}? Rate us in one click: {rating_link}\n\n"
        "Or reply to this email with a number from 1 (poor) to 5 (great). - {brand}"
    ),
    "csat_ask_chat": (
        "How did we do? Rate us just below, or type a number from 1 (poor) to 5 (great)."
    ),
    "csat_retry": "Sorry, we did not get that: please reply with one number from 1 to 5.",
    "csat_thanks": "Thank you for your rating. - {brand}",
    "nps_ask": (
        "Thanks! One more: how likely are you to recommend {brand} to a friend? Reply with "
        "a number from 0 (not at all) to 10 (very likely)."
    ),
    "nps_retry": "Sorry, we did not get that: please reply with one number from 0 to 10.",
    "verification_ask": (
        "Is everything working since we resolved case {case_id}? Reply YES if all is well, "
        "NO if not. - {brand}"
    ),
    "verification_reopened": (
        "Sorry it is not fixed: we have reopened case {case_id} and will be in touch. - {brand}"
    ),
    "notify_csat_low": (
        "Case {case_id} ({priority}, {level_title} / {team_title}): the customer {reason}. "
        "Marked for review."
    ),
    "notify_rca_opened": (
        "RCA {rca_id} for case {case_id} ({priority}, {reasons}): find the root cause and "
        "a corrective action by {due}."
    ),
    "notify_rca_reminder": "Reminder: RCA {rca_id} for case {case_id} is due {due}.",
    "notify_rca_overdue": (
        "RCA {rca_id} for case {case_id} is overdue (due {due}; owner {owner})."
    ),
    "notify_chat_handover": (
        "Case {case_id} ({priority}): a customer in the web chat asks for a person "
        "({level_title} / {team_title}): {reason}."
    ),
}
# The longest chat link a worst-case check assumes: public URL, case id and signed token.
WORST_CHAT_LINK = "https://support.example.com/chat/" + "x" * 60 + "?t=" + "x" * 110
# Templates a customer may receive by SMS, checked against the tenant's segment budget.
CUSTOMER_TEMPLATES = (
    "escalation_ack",
    "escalation_ack_repeat",
    "sms_options",
    "sms_options_link",
    "callback_ack",
    "channel_fallback",
    "chat_offer",
    "chat_not_joined",
    "chat_quiet",
    "csat_ask",
    "csat_retry",
    "csat_thanks",
    "nps_ask",
    "nps_retry",
    "verification_ask",
    "verification_reopened",
)
