"""A seller's payment details and a buyer's proof of payment, encrypted at rest."""
