"""Use cases that span cardsvc, benefits and merchants, kept apart from each of them."""
