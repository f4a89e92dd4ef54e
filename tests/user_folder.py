"""A user's own folder, as the README shows it (importable as `user_folder`): their bot module, their
chats, and my_conf/ with a variant and a dataset, used with `chatbot-evals run --config-dir my_conf`."""

from __future__ import annotations

from pathlib import Path

from builders import conversation

BOT = '''\
def answer(inquiry):
    """Hands off when the customer asks for a person."""
    wants_person = "person" in inquiry.last_message
    return {"reply": "Let me pass you to a colleague." if wants_person else "It arrives tomorrow.",
            "handoff": wants_person}
'''


def user_folder(work: Path) -> Path:
    """Write my_bots.py, my_chats.jsonl and my_conf/{variant/mybot,dataset/my_chats}.yaml; return my_conf."""
    (work / "my_bots.py").write_text(BOT, encoding="utf-8")
    chats = [conversation("a", turns=[("customer", "I want a person"), ("agent", "Connecting you now.")],
                          should_escalate=True),
             conversation("b", turns=[("customer", "Where is my parcel?"), ("agent", "It arrives tomorrow.")])]
    (work / "my_chats.jsonl").write_text("".join(c.model_dump_json(exclude_none=True) + "\n" for c in chats),
                                         encoding="utf-8")
    my_conf = work / "my_conf"
    (my_conf / "variant").mkdir(parents=True)
    (my_conf / "dataset").mkdir()
    (my_conf / "variant" / "mybot.yaml").write_text(
        "mybot:\n  _target_: evals.variants.python_bot.PythonBot\n  target: my_bots:answer\n", encoding="utf-8")
    (my_conf / "dataset" / "my_chats.yaml").write_text(
        "name: my_chats\npath: my_chats.jsonl  # relative to the folder the run starts in\n"
        "history_path: null\npolicy_path: null\non_error: fail\n", encoding="utf-8")
    return my_conf
