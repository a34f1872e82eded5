// Outside the console layout (signed out, or an address no route matches) the same message applies.
export { default } from "./(console)/not-found";
