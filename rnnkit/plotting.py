"""The course's plot colours: the Okabe–Ito palette (Okabe & Ito 2008), safe for colour-blind
readers and without greys, so that no data series is drawn in a colour that reads as "background".

``plt.rcParams["axes.prop_cycle"] = plt.cycler(color=OKABE_ITO)`` makes C0, C1, ... these colours.
"""

OKABE_ITO = [
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#E69F00",  # orange
    "#000000",  # black
    "#F0E442",  # yellow (last: faint on white)
]
