"""What the customer wrote in an email: the text part, the HTML's text, quoted history trimmed."""

from ingress.email_body import email_text, html_text, trim_quoted


def test_quoted_history_under_an_attribution_is_trimmed():
    reply = "Yes please.\n\nOn Mon, 2 Mar 2026, Support <s@x.example> wrote:\n> Shall we call?\n> \n>> Earlier"
    assert trim_quoted(reply) == "Yes please."


def test_an_attribution_wrapped_onto_two_lines_is_recognised():
    reply = "Fine.\r\nOn Mon, 2 Mar 2026 at 09:14, Northwind Support\r\n<s@x.example> wrote:\r\n> quoted"
    assert email_text(reply, None) == "Fine."


def test_inline_answers_between_quotes_are_kept_whole():
    reply = "On Mon, Support wrote:\n> Your account number?\n12345\n> And your postcode?\nAB1 2CD"
    assert trim_quoted(reply) == reply


def test_a_message_that_only_quotes_is_kept():
    quoted = "On Mon, Support wrote:\n> hello"
    assert trim_quoted(quoted) == quoted


def test_a_sentence_starting_with_on_is_not_an_attribution():
    text = "On Monday my router died.\nPlease help."
    assert trim_quoted(text) == text


def test_html_text_drops_markup_scripts_and_styles():
    html = "<div>Hi<br>there</div><script>alert(1)</script><style>b{}</style><p>A &amp; B</p>"
    assert html_text(html) == "Hi\nthere\n\nA & B"


def test_the_text_part_wins_over_html():
    assert email_text("plain", "<p>html</p>") == "plain"
    assert email_text("  ", "<p>html</p>") == "html"
