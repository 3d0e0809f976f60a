"""Word lists and comment texts for the sample-data generator (no external faker package).

Company names are built from three word lists; people's names from two. Survey comments are
drawn from small pools per survey and sentiment band, so a comment loosely matches its score.
Everything here is plain data plus two vectorised builders that return Arrow string arrays.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

COMPANY_FIRST = (
    "Acme Alder Amber Apex Arbor Atlas Aurora Beacon Birch Blue Bright Brook Cedar Clear "
    "Cobalt Copper Coral Crest Delta Eagle Echo Ember Falcon Fern Granite Green Harbor Hawk "
    "Iron Ivory Jade Juniper Keystone Lake Laurel Lime Maple Meadow Mesa Nimbus North Nova Oak "
    "Onyx Orchid Peak Pine Pioneer Polar Prairie Quartz Radiant River Sable Sage Silver Slate "
    "Spruce Summit Swift Terra Tidal Topaz True Union Vertex Willow Zephyr"
).split()
COMPANY_SECOND = (
    "Analytics Bakery Bio Brands Cargo Cloud Clinics Construction Consulting Data Dental "
    "Design Devices Digital Dynamics Education Energy Engineering Fabrics Farms Finance Fitness "
    "Foods Freight Games Health Homes Hotels Industries Insights Labs Learning Legal Logistics "
    "Machines Marine Media Medical Metals Mobility Motors Networks Optics Outdoors Partners "
    "Pharma Print Retail Robotics Security Software Solar Sports Staffing Studios Supply "
    "Systems Telecom Textiles Tools Transit Travel Ventures Vision Water Works"
).split()
COMPANY_SUFFIX = ("Inc", "LLC", "Ltd", "Group", "Co", "GmbH", "AG", "SA", "BV", "Pty")

FIRST_NAMES = (
    "Aaliyah Aaron Ada Alex Amara Ana Andre Anya Arjun Ben Bianca Carlos Chen Chloe Dana "
    "Daniel Diego Elena Emeka Emma Fatima Felix Grace Hana Hugo Ines Isaac Jade Jamal Jonas "
    "Julia Kai Kenji Lara Leo Lina Lucas Maya Mei Mia Nadia Noah Olga Omar Priya Rafael Rosa "
    "Sam Sara Sofia Tariq Theo Uma Victor Yara Yusuf Zoe"
).split()
LAST_NAMES = (
    "Adams Ahmed Alvarez Baker Bauer Becker Brown Chen Costa Dubois Evans Fischer Garcia "
    "Gupta Hansen Haddad Ito Jensen Johnson Kim Kowalski Larsen Lee Lopez Martin Meyer Moreau "
    "Muller Murphy Nakamura Nguyen Novak Okafor Olsen Park Patel Perez Rossi Santos Schmidt "
    "Silva Singh Smith Suzuki Tanaka Taylor Walker Wang Weber Williams Wilson Wong Yilmaz Zhang"
).split()

#: Customer-success managers (index order matters: see ``world.CSM_HOME_SEGMENT``).
CSM_NAMES = (
    "Avery Chen", "Jordan Patel", "Morgan Silva", "Riley Okafor", "Casey Nguyen",
    "Taylor Rossi", "Quinn Larsen", "Skyler Haddad", "Rowan Becker", "Emery Tanaka",
)
POOLED_CSM = "Pooled"
SUPPORT_AGENTS = (
    "Ana", "Ben", "Chidi", "Dmitri", "Eva", "Farah", "Gus", "Hiro", "Iris", "Jonas", "Kemi",
    "Liam",
)
REGIONS = ("North America", "EMEA", "APAC", "LATAM")
INDUSTRIES = (
    "Software", "Financial services", "Healthcare", "Retail", "Manufacturing", "Education",
    "Media", "Logistics", "Professional services", "Public sector",
)
CHANNELS = ("email", "chat", "phone", "portal")
PRIORITIES = ("low", "normal", "high", "urgent")

#: Comment pools per survey, from the worst band to the best (NPS: detractor, passive,
#: promoter; CSAT: 1-2, 3, 4-5; CES: 6-7 = hard, 3-5, 1-2 = easy).
COMMENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "nps": (
        ("Too expensive for what we actually use.",
         "Support takes days to answer, we are looking at alternatives.",
         "Since our champion left nobody here uses it much.",
         "The price increase made us question the value.",
         "Reporting is missing basics we need every week.",
         "Too many bugs lately, our team lost trust in the data.",
         "Onboarding new users is painful.",
         "We were promised integrations that never arrived.",
         "Hard to justify the renewal to finance.",
         "Performance got worse, pages time out."),
        ("Does the job, nothing special.",
         "Good product but the UI could be faster.",
         "Fine for now, we would like better exports.",
         "Solid, though pricing is on the high side.",
         "Useful, some features are hard to find.",
         "OK overall, support is hit and miss.",
         "We use a small part of it, works well enough.",
         "Decent value, the mobile app needs work."),
        ("Our team loves it, it saves us hours every week.",
         "Great support, quick and friendly answers.",
         "Our CSM really understands our business.",
         "Best tool we have bought this year.",
         "Easy to roll out to new teams.",
         "The dashboards are exactly what leadership wanted.",
         "Reliable and constantly improving.",
         "Would recommend to any team our size.",
         "The integrations just work.",
         "Adoption across the company has been great."),
    ),
    "csat": (
        ("Nobody answered for days.",
         "I had to explain the problem three times.",
         "The fix did not work, the issue is back.",
         "Unhelpful, closed my ticket without a solution.",
         "Way too slow for an urgent problem."),
        ("Solved eventually, took a while.",
         "OK, but I had to chase for an update.",
         "The answer was correct but hard to follow."),
        ("Quick and friendly, thank you!",
         "Solved on the first reply.",
         "Very clear explanation, problem gone.",
         "Great help, even showed me a better way to do it.",
         "Fast response and a proper fix."),
    ),
    "ces": (
        ("I had to contact you several times to get this sorted.",
         "Far too much back and forth.",
         "I had to repeat my details to every agent.",
         "The process to get help is exhausting."),
        ("Took a couple of steps but fine.",
         "Reasonable, the form could be shorter.",
         "Not bad, I had to look up some details first."),
        ("Effortless, one message and done.",
         "Very easy, the agent did all the work.",
         "Simple and quick.",
         "No effort at all on my side."),
    ),
}


def pick(options: tuple[str, ...], index: np.ndarray) -> pa.Array:
    """Return ``options[index]`` as an Arrow string array (fast for millions of rows)."""
    return pa.array(options, pa.string()).take(pa.array(index))


def company_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Return ``n`` fake company names like "Harbor Logistics LLC" (unique while n allows)."""
    sizes = (len(COMPANY_FIRST), len(COMPANY_SECOND), len(COMPANY_SUFFIX))
    combos = sizes[0] * sizes[1] * sizes[2]
    code = rng.choice(combos, size=n, replace=n > combos)
    first, rest = np.divmod(code, sizes[1] * sizes[2])
    second, suffix = np.divmod(rest, sizes[2])
    return pc.binary_join_element_wise(
        pick(COMPANY_FIRST, first), pick(COMPANY_SECOND, second), pick(COMPANY_SUFFIX, suffix), " "
    )


def person_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Return ``n`` fake people's names like "Maya Okafor"."""
    first = pick(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n))
    last = pick(LAST_NAMES, rng.integers(0, len(LAST_NAMES), n))
    return pc.binary_join_element_wise(first, last, " ")


def comments(rng: np.random.Generator, survey: np.ndarray, band: np.ndarray) -> pa.Array:
    """Return one comment per response, drawn from the pool of its survey and band.

    ``survey`` is the position in ``COMMENTS`` (0 = nps, 1 = csat, 2 = ces) and ``band`` is
    0 (worst), 1 (middle) or 2 (best) per response.
    """
    pools = [pool for bands in COMMENTS.values() for pool in bands]
    sizes = np.array([len(p) for p in pools])
    offsets = np.cumsum(sizes) - sizes
    which = 3 * np.asarray(survey, np.int64) + band
    index = offsets[which] + np.floor(rng.random(len(which)) * sizes[which]).astype(np.int64)
    return pick(tuple(text for pool in pools for text in pool), index)
