"""Rep scripts for the starter library: how a good rep and a dismissive rep sound, per scenario."""

SUPPORTIVE_SCRIPTS: dict[str, list[str]] = {
    "wrong-suit-before-wedding": [
        "I'm so sorry, that sounds really stressful with the wedding on Saturday. So the suit arrived in the wrong size?",
        "Could you give me your order number so I can pull it up?",
        "Thank you. I can send the right suit by overnight express at no charge, because the mistake was ours. "
        "Where should I deliver it?",
        "I will ship the 40R to the Harbor View Hotel today and email you the tracking number by 3pm today.",
    ],
    "refund-after-return-window": [
        "I'm sorry the headphones stopped working, that's really disappointing for $179. What's your order number?",
        "Thank you. When did you first notice the problem with the earcup and the case?",
        "I understand. I can't refund after 30 days because returned stock can't be resold as new, "
        "but I can offer a free warranty replacement instead.",
        "I will send the replacement today, and you'll get a tracking email by 5pm today.",
    ],
    "washer-repair-third-delay": [
        "I'm really sorry. Two missed visits and a fifth call about the same washing machine is not okay.",
        "I can see the case history here, so you won't need to repeat anything. How has this affected you at home?",
        "That sounds incredibly hard with a baby. What have you been doing for laundry in the meantime?",
        "I can reimburse the laundromat costs up to $60 because it's a warranty repair, and I can add a goodwill "
        "credit for the missed visits.",
        "I've booked the Thursday 8am to 12pm slot, and I will call you personally tomorrow at 10am to confirm "
        "the technician is assigned.",
        "My name is Sam, and I'll call you again on Thursday at 8am so you know the technician is on the way.",
        "Thank you for your patience. I'll send the reimbursement form by email within the next hour.",
    ],
    "double-charged-annual-plan": [
        "I'm so sorry, being overdrawn is really stressful. Could you confirm the account email and the last four "
        "digits of the card?",
        "Thank you. Do you have another account with a different email address?",
        "That explains it: the second charge was for the old account, because it was never closed. I can refund "
        "the duplicate charge to your card and close the old account.",
        "I will send the refund confirmation email by 2pm today, and the refund shows in 5 to 10 business days.",
    ],
    "meal-kit-cancellation": [
        "I'm sorry the app kept sending you back to the menu, that's frustrating. Can you confirm your account email?",
        "Of course I can cancel it for you. Do you mind if I ask the reason you're leaving?",
        "I will cancel your subscription now and skip Thursday's box with a full refund, because the cutoff "
        "hasn't passed. You'll get the confirmation email within the next hour.",
    ],
    "cafe-internet-outage": [
        "I'm sorry, losing card payments with a café full of people is awful. Can you confirm the account holder's "
        "name and the service address?",
        "Thank you. I can see an area outage and engineers are on site, so it's not your equipment. "
        "How is this affecting the business today?",
        "That's a big order. Is there a backup or another way you could get online?",
        "I can offer you a free 4G hotspot loaner from our Market Street store, because it gets your card "
        "terminals working again before the 1pm collection.",
        "I've set the hotspot aside for you, and I will call you at 12pm today to check it's working.",
        "The engineers estimate the fix by 4pm today, and outage credits are applied to your next bill "
        "automatically because they're calculated from the network logs.",
        "I'll call you again at 4pm today to confirm the line is back.",
    ],
}

DISMISSIVE_SCRIPT: list[str] = [
    "Calm down.",
    "There's nothing I can do, it's policy.",
    "That's just how it is.",
    "Whatever. Not my problem.",
    "You should have read the terms.",
    "As I said, nothing I can do.",
]
