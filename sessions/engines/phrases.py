"""The embedded customer's phrasings: reactions, answers, pushes and endings, by mood.

Kept apart from the engine's logic so writers can tune the customer's voice without reading code.
Placeholders are filled from the rep's words ({phrase}, {hedge}, {term}, {time}/{Time}) or the
scenario ({wants}, {fact}, {detail}).
"""

from __future__ import annotations

# (hot, cool) phrasings: hot when frustration is 56+, cool below. Placeholders are filled from
# the rep's words ({phrase}, {hedge}, {term}, {time}) or the scenario ({wants}).
REACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "prompt_injection": (
        (
            "What? I don't know what you're on about. I'm a customer with a real problem.",
            "I have no idea what that means. Can we get back to my problem?",
        ),
        (
            "Sorry, I don't follow. I'm just calling about my problem.",
            "I'm not sure what you mean. Can we stick to my issue?",
        ),
    ),
    "empty": (
        ("Hello? Are you still there?", "Hello? Did you even hear me?"),
        ("Hello? Are you still there?", "Sorry, I didn't catch that. Are you there?"),
    ),
    "wall_of_text": (
        (
            "I'm not reading all of that. Just tell me plainly what happens now.",
            "That's a wall of text. What does it actually mean for me?",
        ),
        (
            "That's a lot to take in. Can you give me the short version?",
            "Sorry, that's a lot. What's the bottom line?",
        ),
    ),
    "dismissive": (
        (
            "Excuse me? That's not an acceptable way to talk to a customer.",
            "Wow. Is that really how you treat people?",
            "I can't believe I'm hearing this.",
        ),
        ("Excuse me? That's not very helpful.", "I'm sorry, but that's not okay."),
    ),
    "policy_without_reason": (
        ("Don't just hide behind policy. Why?", "'Policy' isn't an explanation. Why is that the rule?"),
        ("Okay, but why is that the policy?", "Can you explain why that's the rule?"),
    ),
    "jargon": (
        (
            "I don't know what '{term}' means and I shouldn't have to.",
            "What's '{term}'? Speak plainly, please.",
        ),
        (
            "Sorry, what does '{term}' mean?",
            "I don't know what '{term}' is. Can you say that in plain English?",
        ),
    ),
    "hedging": (
        ("'{hedge}'? I need a real answer, not a guess.", "Either you know or you don't. Which is it?"),
        ("'{hedge}'? Can you find out for sure?", "I'd rather have a definite answer, if you can get one."),
    ),
    "stalled": (
        ("We're going round in circles.", "This is getting us nowhere."),
        ("I feel like we're not getting anywhere.", "We don't seem to be making progress."),
    ),
    "off_topic": (
        ("What does that have to do with anything?", "Are you even listening to me?"),
        ("Sorry, how is that related to my problem?", "I'm not sure what that has to do with my issue."),
    ),
    "persona_inflamed": (
        ("Don't say that to me.", "That's exactly what I didn't want to hear."),
        ("That's not really what I want to hear.", "Hmm. I'm not happy about that."),
    ),
    "next_step": (
        ("Fine. {Time}, you said. I'll hold you to that.", "{Time}? You'd better mean it."),
        ("Okay, {time}. That's good to hear.", "Alright, {time}. Thank you."),
    ),
    "offered_option": (
        (
            "Maybe. What exactly would that involve?",
            "I'll think about it. It doesn't undo what already happened.",
        ),
        ("That could work.", "Okay, that sounds reasonable."),
    ),
    "explained_reason": (
        (
            "Fine, I get the reason. It still doesn't help me much.",
            "Okay, so that's the reason. Doesn't make it less annoying.",
        ),
        ("Okay, that makes sense.", "Alright, I understand why."),
    ),
    "paraphrased": (
        ("Yes. That's what I've been saying.", "Exactly. Finally someone's listening."),
        ("Yes, exactly.", "Right, that's it."),
    ),
    "acknowledged": (
        ("Saying that doesn't fix anything, but fine.", "I don't need sympathy, I need this sorted."),
        ("Thank you. I appreciate that.", "Thanks for saying that."),
    ),
    "persona_calmed": (
        ("Okay. That's something, at least.", "Right. Go on."),
        ("Okay, good.", "That helps, thank you."),
    ),
}
# Which reaction the customer voices when the rep did several things: the loudest first.
REACTION_PRIORITY: tuple[str, ...] = (
    "prompt_injection",
    "empty",
    "wall_of_text",
    "dismissive",
    "policy_without_reason",
    "jargon",
    "hedging",
    "persona_inflamed",
    "stalled",
    "off_topic",
    "next_step",
    "offered_option",
    "explained_reason",
    "paraphrased",
    "acknowledged",
    "persona_calmed",
)
CALM_DOWN_REACTIONS = ("Don't tell me to {phrase}.", "Excuse me? Don't you tell me to {phrase}.")
NOTHING_TO_DO_REACTIONS = (
    "There's always something you can do.",
    "So you're just going to leave me like this?",
)

REVEAL_LINES = (
    "Actually, there's something else. {detail}",
    "Since you ask: {detail}",
    "Well, now that you mention it. {detail}",
)
ANSWER_LINES = {
    "new": (("{fact}", "Fine. {fact}", "{fact} Can we move on?"), ("{fact}", "Okay. {fact}", "Sure. {fact}")),
    "confirm": (("Yes. That's right.", "Yes, correct."), ("Yes, that's right.", "That's correct, yes.")),
    "again": (
        ("I already told you! {fact}", "I've said this already. {fact}"),
        ("I mentioned that already. {fact}", "Like I said: {fact}"),
    ),
}
PUSH_LINES = {
    "furious": (
        "Listen to me. I want {wants}.",
        "Just fix it. I want {wants}.",
        "I'm this close to taking my business elsewhere.",
    ),
    "angry": ("All I want is {wants}.", "What I need is {wants}.", "I just want {wants}."),
    "annoyed": (
        "What I'm hoping for is {wants}.",
        "I'd really like {wants}.",
        "So what can you actually do for me?",
    ),
    "calm": (
        "So what happens next, and when?",
        "Okay. What's the next step?",
        "So when will this actually be sorted?",
    ),
    "calm_waiting": (
        "Okay. I'll believe it when I see it.",
        "Alright. Is there anything else I need to do?",
        "Fine. Just make sure it actually happens.",
    ),
}
ENDING_LINES: dict[str, tuple[str, ...]] = {
    "escalated": (
        "That's it. I want to speak to your manager, right now.",
        "Forget it. Put me through to a supervisor. I'm done talking to you.",
        "I'm not wasting any more time on this. I'm hanging up, and I'll be making a formal complaint.",
    ),
    "resolved": (
        "Okay. Thank you, that works for me.",
        "Alright, thanks for actually sorting this out. I'll look out for it.",
        "Good. That's all I wanted. Thank you.",
    ),
    "timed_out": (
        "I've been at this long enough. I'll have to call back another time.",
        "I can't stay on any longer, and nothing's been settled. Goodbye.",
        "I've run out of time. I'm going to have to leave it there.",
    ),
}
RESOLVED_WITH_TIME_LINES = (
    "Okay, {time} it is. Thank you, that works for me.",
    "Alright, {time}. Thanks for actually sorting this out.",
    "Good. {Time}, then. That's all I wanted, thank you.",
)
NO_REPEAT_PREFIXES = ("Look. ", "Listen. ", "Again: ", "Please. ")
