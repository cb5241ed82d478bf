"""The embedded customer's phrasings: reactions, answers, follow-ups and endings, by mood.

Kept apart from the engine's logic so writers can tune the customer's voice without reading code.
Every pool is drawn without replacement within a session (the engine records which variants it
used), so a pool needs at least as many variants as the moves a long session can make of its kind.
Placeholders are filled from the rep's words ({phrase}, {hedge}, {term}, {time}/{Time}) or the
scenario ({wants}, {fact}, {detail}); {wants} is already turned into speech by the engine.
"""

from __future__ import annotations

# (hot, cool) phrasings: hot when frustration is 56+, cool below.
REACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "prompt_injection": (
        (
            "What? I don't know what you're on about. I'm a customer with a real problem.",
            "I have no idea what that means. Can we get back to my problem?",
            "Is this some kind of joke? I'm trying to get something fixed here.",
            "I don't have time for games. Deal with my problem, please.",
            "I'm not playing along with whatever that is.",
            "What on earth are you talking about?",
        ),
        (
            "Sorry, I don't follow. I'm just calling about my problem.",
            "I'm not sure what you mean. Can we stick to my issue?",
            "That's a strange thing to say. Anyway, about my problem.",
            "I don't know what that's about. Can we get back to why I'm calling?",
            "Sorry, you've lost me there.",
            "I'm not sure how to answer that. I just want this sorted.",
        ),
    ),
    "empty": (
        (
            "Hello? Are you still there?",
            "Hello? Did you even hear me?",
            "Are you going to say anything?",
            "Hello? I'm waiting.",
            "Is anyone there?",
            "You've gone quiet on me.",
        ),
        (
            "Hello? Are you still there?",
            "Sorry, I didn't catch that. Are you there?",
            "I think you cut out. Hello?",
            "Sorry, I didn't get anything there.",
            "Are you still with me?",
            "Hello? Can you hear me?",
        ),
    ),
    "wall_of_text": (
        (
            "I'm not reading all of that. Just tell me plainly what happens now.",
            "That's a wall of text. What does it actually mean for me?",
            "I don't need an essay. What are you doing about it?",
            "Too long. Give me the one thing I need to know.",
            "You've lost me. Short version, please.",
        ),
        (
            "That's a lot to take in. Can you give me the short version?",
            "Sorry, that's a lot. What's the bottom line?",
            "Could you sum that up for me?",
            "That's quite a lot of detail. What does it mean for me?",
            "I got a bit lost in all that. What happens next?",
        ),
    ),
    "dismissive": (
        (
            "Excuse me? That's not an acceptable way to talk to a customer.",
            "Wow. Is that really how you treat people?",
            "I can't believe I'm hearing this.",
            "Seriously? That's your answer?",
            "Don't brush me off like that.",
            "You're really not helping yourself here.",
            "I didn't call to be spoken to like that.",
            "Unbelievable.",
        ),
        (
            "Excuse me? That's not very helpful.",
            "I'm sorry, but that's not okay.",
            "That's a bit rude, don't you think?",
            "I don't appreciate being brushed off.",
            "That's not the answer I expected from you.",
            "Hang on, that's not fair.",
            "Wow, okay. That's not great.",
            "I don't think that's the right way to put it.",
        ),
    ),
    "policy_without_reason": (
        (
            "Don't just hide behind policy. Why?",
            "'Policy' isn't an explanation. Why is that the rule?",
            "I don't care what the policy says, I care what you're going to do.",
            "So the rulebook wins and I lose. Great.",
            "Quoting policy at me doesn't help.",
            "Whose policy? And why should I be the one paying for it?",
        ),
        (
            "Okay, but why is that the policy?",
            "Can you explain why that's the rule?",
            "I'd understand better if I knew the reason for it.",
            "Is there a reason behind that, or is it just the rule?",
            "Right. And what's that policy actually for?",
            "Fair enough, but what does that mean for me?",
        ),
    ),
    "jargon": (
        (
            "I don't know what '{term}' means and I shouldn't have to.",
            "What's '{term}'? Speak plainly, please.",
            "'{term}'? I have no idea what that is.",
            "Can you not talk to me in code? What's '{term}'?",
            "I'm not one of your colleagues. What does '{term}' mean?",
        ),
        (
            "Sorry, what does '{term}' mean?",
            "I don't know what '{term}' is. Can you say that in plain English?",
            "'{term}'? You'll have to explain that one.",
            "I'm not familiar with '{term}'. What is it?",
            "What's '{term}', sorry?",
        ),
    ),
    "hedging": (
        (
            "'{hedge}'? I need a real answer, not a guess.",
            "Either you know or you don't. Which is it?",
            "I've had enough guesses. Can you find out?",
            "That doesn't sound very certain.",
            "'{hedge}' isn't good enough. I need to know.",
            "Don't guess. Check.",
        ),
        (
            "'{hedge}'? Can you find out for sure?",
            "I'd rather have a definite answer, if you can get one.",
            "Is there a way to check that properly?",
            "Could you confirm that, rather than guess?",
            "That sounds a bit unsure. Can you check?",
            "I'd feel better if you knew for certain.",
        ),
    ),
    "stalled": (
        (
            "We're going round in circles.",
            "This is getting us nowhere.",
            "I feel like I'm talking to a wall.",
            "Nothing's happening. Nothing.",
            "How long is this going to take?",
            "I've been on this for ages and nothing's changed.",
        ),
        (
            "I feel like we're not getting anywhere.",
            "We don't seem to be making progress.",
            "I'm not sure this is moving forward.",
            "We seem to be stuck.",
            "Can we get to an actual solution?",
            "I'm starting to wonder where this is going.",
        ),
    ),
    "off_topic": (
        (
            "What does that have to do with anything?",
            "Are you even listening to me?",
            "I'm not here to chat. I'm here about my problem.",
            "Why are you telling me this?",
            "Can we focus, please?",
            "That's got nothing to do with why I called.",
        ),
        (
            "Sorry, how is that related to my problem?",
            "I'm not sure what that has to do with my issue.",
            "I'd rather stick to why I called, if that's okay.",
            "Um, okay. Can we get back to my problem?",
            "I don't see how that helps.",
            "Right. Anyway, about my issue.",
        ),
    ),
    "persona_inflamed": (
        (
            "Don't say that to me.",
            "That's exactly what I didn't want to hear.",
            "You've got to be kidding me.",
            "No. That's not good enough.",
            "That makes it worse, you know.",
            "I really didn't need to hear that.",
        ),
        (
            "That's not really what I want to hear.",
            "Hmm. I'm not happy about that.",
            "That's disappointing.",
            "I'd hoped for better than that.",
            "That doesn't sit well with me.",
            "Oh. That's not great.",
        ),
    ),
    "next_step": (
        (
            "Fine. {Time}, you said. I'll hold you to that.",
            "{Time}? You'd better mean it.",
            "{Time}. I'm writing that down.",
            "Right, {time}. Don't let me down.",
            "{Time}, then. I've heard promises before.",
            "Okay, {time}. That's more like it.",
        ),
        (
            "Okay, {time}. That's good to hear.",
            "Alright, {time}. Thank you.",
            "{Time} works. Thanks.",
            "Great, {time} then.",
            "Okay, {time}. I appreciate that.",
            "Good, {time}. That's clear.",
        ),
    ),
    "offered_option": (
        (
            "Maybe. What exactly would that involve?",
            "That could work, if it actually happens.",
            "Okay. That's the first useful thing I've heard.",
            "Go on, how would that work?",
            "Right. And how quickly?",
            "That's something. What's the catch?",
        ),
        (
            "That could work.",
            "Okay, that sounds reasonable.",
            "That might be alright. How would it work?",
            "Oh, that's helpful.",
            "Okay, I'd consider that.",
            "That sounds fair.",
        ),
    ),
    "explained_reason": (
        (
            "Fine, I get the reason.",
            "Okay. At least I know why now.",
            "Right. That explains it, I suppose.",
            "Okay, that's a reason. Thanks for actually giving me one.",
            "I see. I still need it sorted.",
            "Alright, I follow.",
        ),
        (
            "Okay, that makes sense.",
            "Alright, I understand why.",
            "Ah, I see.",
            "Right, that explains it.",
            "Okay, thanks for explaining.",
            "That's fair enough.",
        ),
    ),
    "paraphrased": (
        (
            "Yes. That's what I've been saying.",
            "Exactly. Finally someone's listening.",
            "Yes. That's it exactly.",
            "Right. So you do understand.",
            "That's it. Yes.",
            "Yes, that's the problem.",
        ),
        (
            "Yes, exactly.",
            "Right, that's it.",
            "Yes, you've got it.",
            "That's right.",
            "Exactly that, yes.",
            "Yes, that's the situation.",
        ),
    ),
    # A warm apology that names what happened: grudging thanks when hot, real thanks when cool.
    "acknowledged": (
        (
            "Okay. Thank you for actually saying that.",
            "Well, that's the first time anyone's said that.",
            "Alright. I appreciate you owning it.",
            "Thanks. That does help a bit.",
            "Okay. At least someone gets it.",
            "Right. Thank you for not making excuses.",
        ),
        (
            "Thank you. I appreciate that.",
            "Thanks for saying that.",
            "Thank you, that means something.",
            "I appreciate you saying so.",
            "Thanks. It has been a lot.",
            "That's kind of you, thank you.",
        ),
    ),
    # The same apology again, or a stock one: the customer wants action now, not sympathy.
    "acknowledged_hollow": (
        (
            "Saying sorry doesn't fix anything.",
            "I don't need sympathy, I need this sorted.",
            "You've said that. What are you doing about it?",
            "Sorry isn't a solution.",
            "I've heard the apologies. I want action.",
            "Enough apologising. Fix it.",
        ),
        (
            "Thanks. But what happens now?",
            "I know, thank you. What can you do?",
            "That's okay. I'd just like it sorted.",
            "I appreciate it. Let's just fix it.",
            "Thanks. Can we move forward?",
            "No need to keep apologising. What's next?",
        ),
    ),
    "persona_calmed": (
        (
            "Okay. That's something, at least.",
            "Right. Go on.",
            "Alright, that's better.",
            "Okay. Keep going.",
            "That helps. A bit.",
            "Fine. I'm listening.",
        ),
        (
            "Okay, good.",
            "That helps, thank you.",
            "Good to know.",
            "Oh good.",
            "That's reassuring.",
            "Okay, that's good.",
        ),
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
CALM_DOWN_REACTIONS = (
    "Don't tell me to {phrase}.",
    "Excuse me? Don't you tell me to {phrase}.",
    "'{phrase}'? Really?",
    "Telling me to {phrase} won't help.",
    "I'll {phrase} when this is fixed.",
)
NOTHING_TO_DO_REACTIONS = (
    "There's always something you can do.",
    "So you're just going to leave me like this?",
    "Nothing at all? I find that hard to believe.",
    "Then find someone who can do something.",
    "That can't be the end of it.",
)

# How a hidden detail comes out, by mood; "{detail}" alone reads as the customer just saying it.
REVEAL_LINES: tuple[tuple[str, ...], tuple[str, ...]] = (
    (
        "{detail}",
        "And since you're asking, {detail_lc}",
        "You want to know? {detail}",
        "Funny you should ask. {detail}",
        "Well, {detail_lc}",
        "Here's the thing. {detail}",
    ),
    (
        "Actually, there's something else. {detail}",
        "Well, now that you mention it, {detail_lc}",
        "{detail}",
        "Oh, and {detail_lc}",
        "Actually, yes. {detail}",
        "I should say, {detail_lc}",
    ),
)
ANSWER_LINES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "new": (
        ("{fact}", "Fine. {fact}", "{fact} Can we move on?", "{fact} Happy now?", "Right. {fact}", "{fact} Now what?"),
        ("{fact}", "Sure. {fact}", "Of course. {fact}", "Yes, {fact_lc}", "{fact} Does that help?", "Let me see. {fact}"),
    ),
    "confirm": (
        ("Yes. That's right.", "Yes, correct.", "That's right.", "Yes. Correct.", "Yes, that's it.", "Right, yes."),
        (
            "Yes, that's right.",
            "That's correct, yes.",
            "Yes, that's it.",
            "Correct.",
            "That's the one, yes.",
            "Yes, exactly that.",
        ),
    ),
    "again": (
        (
            "I already told you! {fact}",
            "I've said this already. {fact}",
            "Again? {fact}",
            "How many times? {fact}",
            "I just said. {fact}",
            "Were you not listening? {fact}",
        ),
        (
            "I mentioned that already. {fact}",
            "Like I said, {fact_lc}",
            "As I said before, {fact_lc}",
            "I think I said, but {fact_lc}",
            "Just to repeat, {fact_lc}",
            "Sorry, I did say. {fact}",
        ),
    ),
}

# Follow-ups on what is still open, by where the conversation stands and how the customer feels.
# "ask": nothing offered yet, the customer restates what they want; "when": something was offered
# but nobody said when; "waiting": a time was promised, the customer checks it will happen.
FOLLOW_UPS: dict[str, dict[str, tuple[str, ...]]] = {
    "ask": {
        "furious": (
            "Listen to me. I want {wants}.",
            "Just fix it. I want {wants}.",
            "I'm this close to taking my business elsewhere.",
            "I've told you what I want. Are you going to do it or not?",
            "Stop talking and sort it out.",
            "I want {wants}. Is that so hard?",
            "Why is nobody actually doing anything?",
            "Give me one good reason not to cancel everything.",
        ),
        "angry": (
            "All I want is {wants}.",
            "Look, I need {wants}.",
            "I just want {wants}.",
            "So what are you actually going to do?",
            "I'm still waiting for an actual answer.",
            "Can you do anything about it or not?",
            "What I'm asking for is {wants}.",
            "I need this fixed, not talked about.",
        ),
        "annoyed": (
            "What I'm hoping for is {wants}.",
            "I'd really like {wants}.",
            "So what can you actually do for me?",
            "Is there anything you can do?",
            "Ideally I'd like {wants}.",
            "What are my options here?",
            "I'm hoping you can sort this out today.",
            "What would you suggest?",
        ),
        "calm": (
            "So what can you do?",
            "What would you suggest?",
            "I'd like {wants}, if that's possible.",
            "What are my options?",
            "How do we sort this out?",
            "Is there a way to fix this?",
            "What would be the best way forward?",
            "Could you help me with that?",
        ),
    },
    "when": {
        "furious": (
            "When? I need a time, not a maybe.",
            "And when is that going to happen?",
            "I've heard offers before. When, exactly?",
            "Give me a time. A real one.",
            "How long am I supposed to wait this time?",
            "When will it actually be done?",
        ),
        "angry": (
            "And when would that be?",
            "How soon can that happen?",
            "When exactly are we talking?",
            "I need to know when.",
            "What's the timeline on that?",
            "By when?",
        ),
        "annoyed": (
            "When would that happen?",
            "How long would that take?",
            "And roughly when?",
            "When can I expect that?",
            "What sort of timeframe is that?",
            "How quickly could you do that?",
        ),
        "calm": (
            "When would that happen?",
            "How long would that take?",
            "And when can I expect it?",
            "What happens next, then?",
            "Okay. What's the next step?",
            "Roughly how soon?",
        ),
    },
    "waiting": {
        "furious": (
            "And if it doesn't happen {time}?",
            "You'd better not be making this up.",
            "I've been promised things before.",
            "I'll believe it when I see it.",
            "If this falls through, I'm done.",
            "Who do I call when it doesn't happen?",
        ),
        "angry": (
            "I'll believe it when I see it.",
            "Fine. Just make sure it actually happens.",
            "And who do I chase if it doesn't?",
            "I hope you're right about that.",
            "{Time}. I'm holding you to that.",
            "Let's see if it actually happens this time.",
        ),
        "annoyed": (
            "Okay. I'll believe it when I see it.",
            "Is there anything else I need to do?",
            "Fine. Just make sure it actually happens.",
            "And you'll let me know if anything changes?",
            "So {time}. I'll be watching for it.",
            "Will I get something in writing?",
        ),
        "calm": (
            "Is there anything else I need to do?",
            "Will I get a confirmation?",
            "And you'll let me know if anything changes?",
            "Is there a reference I should keep?",
            "Great. So {time}, and I just wait?",
            "Should I call back if I don't hear anything?",
        ),
    },
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
# Last resort when every composed reply was already said this session: a short tag in the
# customer's voice, chosen by the seed, that keeps the whole line new.
FRESH_TAGS: tuple[str, ...] = (
    "Honestly.",
    "Please.",
    "I mean it.",
    "Seriously.",
    "Really.",
    "Come on.",
    "That's all.",
    "Okay?",
)
# Leading interjections: two parts of one reply shouldn't both start with one ("Okay … Okay.").
INTERJECTIONS: tuple[str, ...] = (
    "okay",
    "ok",
    "alright",
    "right",
    "fine",
    "yes",
    "sure",
    "well",
    "of course",
    "great",
    "good",
    "oh",
    "look",
)
