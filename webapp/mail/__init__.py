"""Mail through the outbox (DESIGN.md "Mail pipeline"), one module per job:

- `outbox`: queue a mail in the caller's transaction, claim a row, record its outcome, sweep;
- `kinds`: the registry of mail kinds (context builder, invite, transactional or bulk);
- `rendering`: templates of `email_templates/` rendered in the recipient's language;
- `message`: the MIME message (text, HTML, calendar invite) and its headers;
- `transport`: the SMTP connection;
- `delivery`: what a worker runs: claim, build, send, record.

Services queue mails with `outbox.queue_mail`; only workers (tasks) use `delivery`.
Adding a kind = one entry in `kinds.KINDS` and two templates, `<kind>.txt` and `<kind>.html`.
"""
